"""Δm against hand-computed values."""

import pytest

from mtl_zoo.training.relative_performance import delta_m, lower_is_better, relative_improvement


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


def test_percentage_logarithmic_and_log_cosh_errors_count_down():
    # mape 12 vs 10: 20 % worse; msle 0.05 vs 0.04: 25 % worse; log_cosh 0.3 vs 0.4: 25 % better
    multi = {"a": {"mape": 12.0}, "b": {"msle": 0.05}, "c": {"log_cosh_error": 0.3}}
    single = {"a": {"mape": 10.0}, "b": {"msle": 0.04}, "c": {"log_cosh_error": 0.4}}
    primary = {"a": "mape", "b": "msle", "c": "log_cosh_error"}
    assert delta_m(multi, single, primary) == pytest.approx((-20.0 - 25.0 + 25.0) / 3, rel=1e-12)
    for metric in ("mape", "msle", "log_cosh_error", "mean_absolute_percentage_error", "abs_rel", "loss"):
        assert lower_is_better(metric), metric


def test_every_metric_a_task_kind_accepts_has_a_direction():
    import mtl_zoo.tasks.kinds  # noqa: F401  (registers the kinds)
    from mtl_zoo.registry import TASK_KINDS

    higher = {"accuracy", "auc", "precision", "recall", "iou", "mean_iou", "pixel_accuracy", "entity_f1"}
    for kind in map(TASK_KINDS.get, TASK_KINDS.names()):
        for metric in kind.metrics:
            metric = metric.replace("top_K_", "top_3_")
            if metric in higher or metric.endswith("accuracy"):
                assert not lower_is_better(metric), (kind.name, metric)
            else:  # errors and crossentropies
                assert lower_is_better(metric), (kind.name, metric)


def test_the_custom_metrics_declare_their_direction():
    from mtl_zoo.tasks.kinds.box_metrics import BoxIoU
    from mtl_zoo.tasks.kinds.dense_metrics import AbsRel
    from mtl_zoo.tasks.kinds.tagging_metrics import EntityF1

    assert (AbsRel.lower_is_better, BoxIoU.lower_is_better, EntityF1.lower_is_better) == (True, False, False)


def test_a_metric_of_unknown_direction_is_refused_not_guessed():
    with pytest.raises(ValueError, match=r"Unknown metric 'wobble'.*Received: metric='wobble'"):
        lower_is_better("wobble")
    with pytest.raises(ValueError, match=r"'Sum' \(keras.*Sum\) does not say.*`lower_is_better` attribute"):
        lower_is_better("Sum")  # a Keras metric with no direction of its own
