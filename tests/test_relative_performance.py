"""Δm against hand-computed values."""

import pytest

from mtl_zoo.relative_performance import delta_m, lower_is_better, relative_improvement


def test_delta_m_matches_the_hand_computed_mean():
    # accuracy 0.95 vs 0.90: +5/90 = +5.5556 %; rmse 1.2 vs 1.0: 20 % worse; auc 0.70 vs 0.80: -12.5 %
    multi = {"digit": {"accuracy": 0.95}, "price": {"rmse": 1.2}, "click": {"auc": 0.70}}
    single = {"digit": {"accuracy": 0.90}, "price": {"rmse": 1.0}, "click": {"auc": 0.80}}
    primary = {"digit": "accuracy", "price": "rmse", "click": "auc"}
    assert delta_m(multi, single, primary) == pytest.approx((500 / 90 - 20.0 - 12.5) / 3, rel=1e-12)


def test_lower_is_better_flips_the_sign_of_errors_only():
    assert relative_improvement(0.5, 1.0, "mae") == pytest.approx(50.0)
    assert relative_improvement(0.5, 1.0, "accuracy") == pytest.approx(-50.0)
    assert lower_is_better("mse") and not lower_is_better("auc")


def test_a_zero_baseline_or_a_missing_metric_is_refused():
    with pytest.raises(ValueError, match="single-task mae is 0"):
        relative_improvement(0.5, 0.0, "mae")
    with pytest.raises(ValueError, match="No single-task 'auc' for task 'click'"):
        delta_m({"click": {"auc": 0.7}}, {"click": {"accuracy": 0.7}}, {"click": "auc"})
