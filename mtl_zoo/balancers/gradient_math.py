"""Shared math of the gradient balancers: Gram matrices, a small convex solver, step seeds.

Every gradient balancer here except GradDrop moves the shared variables along
a weighted sum of the task gradients, `direction = weights @ grads`, with
weights that depend on the gradients only through their Gram matrix
`grads @ grads.T` (the task gradients' inner products): a
`[num_tasks, num_tasks]` matrix, so their solvers cost the same whatever the
number of shared parameters. The solvers run in float64 on the Gram matrix
scaled to a unit mean diagonal (which changes no solution), with a fixed
number of iterations, so they compile into the training step and give the
same result on every replica.

`quadratic_program` is the min-norm solver of MGDA (the min-norm point of the
gradients' convex hull: weights on the simplex), UPGrad (projections onto
the cone of directions that conflict with no task: weights above a lower
bound) and CAGrad (projections of the mean gradient onto the directions
that improve every task by a given amount). The solvers of the K x K
problems are compiled with XLA (`compiled`).

Example:

>>> import tensorflow as tf
>>> from mtl_zoo.balancers.gradient_math import gram_matrix, quadratic_program, scaled_gram
>>> gram = gram_matrix(tf.constant([[1.0, 0.0], [0.0, 2.0]]))
>>> weights = quadratic_program(scaled_gram(gram), tf.zeros([1, 2], tf.float64), simplex=True)  # min-norm point
>>> [round(float(w), 4) for w in weights[0]]
[0.8, 0.2]
"""

from __future__ import annotations

import numbers

import tensorflow as tf

from mtl_zoo.errors import OptionError

# Ridge added to scaled Gram matrices: makes every solution unique (e.g. uniform
# weights for identical gradients) and moves directions by ~1e-9 relative.
RIDGE = 1e-9
# Each interior-point step aims at this fraction of the current duality gap.
CENTERING = 0.1


def compiled(function):
    """`tf.function(jit_compile=True)`: a solver's few thousand tiny ops run as one XLA computation.

    Inside the (uncompiled) training step this is 3-5x faster than running
    them one by one; called eagerly it compiles once per input shape.
    """
    return tf.function(function, jit_compile=True)


def gram_matrix(grads):
    """Returns the `[num_tasks, num_tasks]` float64 Gram matrix of the rows of `grads`.

    Args:
        grads: float tensor `[num_tasks, dim]`.
    """
    grads = tf.cast(grads, tf.float64)  # float64 products: positive semi-definite to ~1e-16
    gram = tf.matmul(grads, grads, transpose_b=True)
    # Non-finite gradients give a non-finite direction (and loss) anyway; keep the solvers finite.
    return tf.where(tf.math.is_finite(gram), gram, tf.zeros_like(gram))


def scaled_gram(gram):
    """Returns `gram` divided by the mean of its diagonal (unchanged when that is 0).

    Args:
        gram: float64 tensor `[num_tasks, num_tasks]`.
    """
    scale = tf.reduce_mean(tf.linalg.diag_part(gram))
    return gram / tf.where(scale > 0.0, scale, tf.ones_like(scale))


def combine(weights, grads):
    """Returns `weights @ grads`: the weighted sum of the task gradients, `[dim]`.

    Args:
        weights: tensor `[num_tasks]`.
        grads: float tensor `[num_tasks, dim]`.
    """
    return tf.linalg.matvec(grads, tf.cast(weights, grads.dtype), transpose_a=True)


def least_squares_weights(grads, direction):
    """Weights `w` with `w @ grads` closest to `direction` (ridge-regularized, in float64), `[num_tasks]`.

    Dependent task gradients (identical ones, more tasks than dimensions)
    get a finite answer.

    Args:
        grads: float tensor `[num_tasks, dim]`.
        direction: float tensor `[dim]`.
    """
    gram = gram_matrix(grads)
    scale = tf.reduce_mean(tf.linalg.diag_part(gram))
    scale = tf.where(scale > 0.0, scale, tf.ones_like(scale))
    target = tf.linalg.matvec(tf.cast(grads, tf.float64), tf.cast(direction, tf.float64)) / scale
    system = gram / scale + RIDGE * tf.eye(tf.shape(gram)[0], dtype=tf.float64)
    return tf.cast(tf.linalg.solve(system, target[:, None])[:, 0], tf.float32)


def _largest_step(values, changes):
    """Largest `t <= 1` with `values + t * changes >= 0` everywhere, per batch row."""
    ratios = tf.where(changes < 0.0, -values / tf.minimum(changes, -1e-300), tf.ones_like(values))
    return tf.minimum(tf.reduce_min(ratios, axis=-1), 1.0)


@compiled
def quadratic_program(gram, linear, simplex: bool = False, iterations: int = 30):
    """Minimizes `x @ gram @ x / 2 + linear @ x` over `x >= 0` (and `sum(x) = 1` if `simplex`).

    With `linear = 0` and `simplex=True` the minimizer weights the rows of
    `grads` into the min-norm point of their convex hull (MGDA). A tiny ridge
    is added to `gram`, so the minimizer is unique. The method is a
    primal-dual interior-point method with a fixed number of Newton steps,
    each aiming at a tenth of the current duality gap and going 99% of the
    way to the boundary at most; 30 steps reach ~1e-7 relative accuracy on
    the resulting directions.

    Args:
        gram: float64 tensor `[K, K]`, positive semi-definite, with entries
            of order 1 (see `scaled_gram`).
        linear: float64 tensor `[batch, K]`: one problem per row.
        simplex: bool. Also constrain `sum(x) = 1`. Defaults to False.
        iterations: int. Newton steps. Defaults to 30.

    Returns:
        float64 tensor `[batch, K]`.
    """
    num_tasks = tf.shape(gram)[0]
    hessian = gram + RIDGE * tf.eye(num_tasks, dtype=tf.float64)
    start = tf.ones_like(linear) / (tf.cast(num_tasks, tf.float64) if simplex else 1.0)
    batch = tf.shape(linear)[0]

    def step(index, x, s, y):
        residual = tf.matmul(x, hessian) + linear - s - (y[:, None] if simplex else 0.0)
        target = CENTERING * tf.reduce_mean(x * s, axis=-1, keepdims=True)
        right = target / x - s - residual
        system = hessian + tf.linalg.diag(s / x)
        if simplex:  # the equality's multiplier y: sum(dx) = 1 - sum(x)
            solved = tf.linalg.solve(system, tf.stack([right, tf.ones_like(right)], axis=-1))
            particular, homogeneous = solved[..., 0], solved[..., 1]
            dy = (1.0 - tf.reduce_sum(x + particular, axis=-1)) / tf.reduce_sum(homogeneous, axis=-1)
            dx = particular + dy[:, None] * homogeneous
        else:
            dx = tf.linalg.solve(system, right[..., None])[..., 0]
            dy = tf.zeros_like(y)
        ds = target / x - s - s / x * dx
        length = 0.99 * tf.minimum(_largest_step(x, dx), _largest_step(s, ds))
        return index + 1, x + length[:, None] * dx, s + length[:, None] * ds, y + length * dy

    _, x, _, _ = tf.while_loop(
        lambda index, *_: index < iterations,
        step,
        (tf.constant(0), start, tf.ones_like(start), tf.zeros([batch], tf.float64)),
    )
    return x


class RandomPerStep:
    """Mixin for a balancer that draws new random numbers at every training step, reproducibly.

    Step `n` draws from the stateless seed `[seed, n]`, `n` being an int64
    step counter saved with the model and identical on every replica
    (`aggregation="only_first_replica"`), so a resumed or replicated run
    draws the same numbers. Put it before the balancer base class.

    Example:

    >>> from mtl_zoo.balancers.pcgrad import PCGrad
    >>> PCGrad(seed=3).step_seed().numpy().tolist()
    [3, 0]
    """

    def set_seed(self, seed, method: str) -> None:
        """Checks and keeps the `seed` option of `method` (its name, for the message)."""
        if not isinstance(seed, numbers.Integral) or isinstance(seed, bool):
            raise OptionError("seed", f"{method} needs an integer seed. Received: seed={seed!r}")
        self.seed = int(seed)
        self.step = None

    def build_for_tasks(self, tasks) -> None:
        self._add_step_counter()
        super().build_for_tasks(tasks)

    def _add_step_counter(self) -> None:
        if self.step is None:
            self.step = self.add_weight(shape=(), initializer="zeros", dtype="int64", trainable=False,
                                        aggregation="only_first_replica", name="step")

    def step_seed(self):
        """This step's stateless random seed `[seed, step]`; advances the step counter."""
        self._add_step_counter()  # also when used on its own, outside a model
        step = tf.convert_to_tensor(self.step)
        self.step.assign_add(1)
        return tf.stack([tf.constant(self.seed, tf.int64), tf.cast(step, tf.int64)])
