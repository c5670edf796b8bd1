"""Internal: training on several GPUs or machines with ``tf.distribute`` (see ``fit_letter``).

:func:`glyphvae.fit_letter` (``glyphvae fit --strategy``) picks a strategy by name:

* ``"default"``: one device (the first GPU, or the CPU).
* ``"mirrored"``: :class:`tf.distribute.MirroredStrategy`, every GPU of this machine.
* ``"multiworker"``: :class:`tf.distribute.MultiWorkerMirroredStrategy`, several machines
  (each with one or more GPUs), configured from the ``TF_CONFIG`` environment variable.
* ``"auto"``: ``"multiworker"`` when ``TF_CONFIG`` is set, else ``"mirrored"`` when this
  machine has more than one GPU, else ``"default"``.

In a multi-worker run the *chief* (the task of type ``chief``, or worker 0 when the cluster
has no chief) writes the model files and checkpoints; the other workers write their
checkpoints to a temporary folder that is deleted at the end. Launching on a cluster is
described in the "Distributed training" section of :func:`glyphvae.training.fit_letter`.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
from collections.abc import Iterator, Mapping
from typing import Any

__all__ = [
    "STRATEGIES",
    "all_workers_sum",
    "clip_after_all_reduce",
    "get_strategy",
    "in_multi_worker_mode",
    "is_chief",
    "is_distributed",
    "keras_multi_worker_fix",
    "local_copy",
    "match_distributed_data_order",
    "num_workers",
    "read_tf_config",
    "resolve_strategy_name",
    "scale_loss_per_replica",
    "shard_by_data",
    "task_name",
    "tf_config_from_slurm",
]

STRATEGIES = ("auto", "default", "mirrored", "multiworker")

DEFAULT_PORT = 23456
"""Port the workers of a Slurm run listen on (``$GLYPHVAE_WORKER_PORT`` overrides it)."""

_CREATED: dict[str, Any] = {}  # one strategy object per name and process


def read_tf_config() -> dict[str, Any] | None:
    """The parsed ``TF_CONFIG`` environment variable, or ``None`` when it is unset or empty.

    Raises:
        ValueError: ``TF_CONFIG`` is not a JSON object with a ``cluster``.
    """
    raw = os.environ.get("TF_CONFIG", "").strip()
    if not raw:
        return None
    try:
        config = json.loads(raw)
    except json.JSONDecodeError as e:
        raise ValueError(f"Expected TF_CONFIG to be JSON. Received {raw[:200]!r}") from e
    if not isinstance(config, dict) or not isinstance(config.get("cluster"), dict):
        raise ValueError(
            'Expected TF_CONFIG like {"cluster": {"worker": ["host:port", ...]}, '
            f'"task": {{"type": "worker", "index": 0}}}}. Received {raw[:200]!r}'
        )
    return config


def tf_config_from_slurm(
    env: Mapping[str, str] | None = None,
    hostnames: list[str] | None = None,
    port: int = DEFAULT_PORT,
) -> dict[str, Any] | None:
    """A ``TF_CONFIG`` for this task of a Slurm job step with one task per node.

    Args:
        env: The environment (default ``os.environ``): ``SLURM_PROCID``, ``SLURM_NTASKS``
            (or ``SLURM_STEP_NUM_TASKS``) and ``SLURM_STEP_NODELIST`` (or
            ``SLURM_JOB_NODELIST``).
        hostnames: The step's nodes in order (default: ``scontrol show hostnames``).
        port: Port each worker listens on.

    Returns:
        The config, or ``None`` outside a Slurm step of two or more tasks.

    Raises:
        ValueError: More than one task per node (each task uses every GPU of its node).

    >>> env = {"SLURM_PROCID": "1", "SLURM_NTASKS": "2", "SLURM_JOB_NODELIST": "gpu[07-08]"}
    >>> tf_config_from_slurm(env, hostnames=["gpu07", "gpu08"], port=4000)["task"]
    {'type': 'worker', 'index': 1}
    """
    env = os.environ if env is None else env
    ntasks = int(env.get("SLURM_STEP_NUM_TASKS") or env.get("SLURM_NTASKS") or 0)
    if ntasks < 2 or "SLURM_PROCID" not in env:
        return None
    if hostnames is None:
        nodelist = env.get("SLURM_STEP_NODELIST") or env.get("SLURM_JOB_NODELIST") or ""
        hostnames = subprocess.run(
            ["scontrol", "show", "hostnames", nodelist],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
    if len(hostnames) != ntasks:
        raise ValueError(
            "Expected one Slurm task per node (srun --ntasks-per-node=1; each task trains on "
            f"all GPUs of its node). Received {ntasks} tasks on {len(hostnames)} nodes"
        )
    return {
        "cluster": {"worker": [f"{host}:{port}" for host in hostnames]},
        "task": {"type": "worker", "index": int(env["SLURM_PROCID"])},
    }


def resolve_strategy_name(name: str = "auto") -> str:
    """Turn ``"auto"`` into ``"multiworker"``, ``"mirrored"`` or ``"default"``.

    Raises:
        ValueError: ``name`` is not one of :data:`STRATEGIES`.

    >>> resolve_strategy_name("mirrored")
    'mirrored'
    """
    if name not in STRATEGIES:
        raise ValueError(f"Expected `strategy` in {STRATEGIES}. Received: {name!r}")
    if name != "auto":
        return name
    if read_tf_config() is not None:
        return "multiworker"
    import tensorflow as tf

    return "mirrored" if len(tf.config.list_physical_devices("GPU")) > 1 else "default"


def get_strategy(name: str = "auto") -> Any:
    """The ``tf.distribute.Strategy`` for ``name`` (created once per process).

    ``"multiworker"`` reads the cluster from ``TF_CONFIG`` or, when that is unset, from the
    Slurm job step (:func:`tf_config_from_slurm`). It must be created before TensorFlow runs
    its first operation in the process, so call :func:`glyphvae.fit_letter` with it at the
    start of each worker.

    Raises:
        ValueError: Unknown name.
        RuntimeError: The multi-worker strategy could not be created (TensorFlow had
            already started, or ``TF_CONFIG`` names an unreachable cluster).
    """
    resolved = resolve_strategy_name(name)
    if resolved in _CREATED:
        return _CREATED[resolved]
    import tensorflow as tf

    if resolved == "default":
        strategy = tf.distribute.get_strategy()
    elif resolved == "mirrored":
        strategy = tf.distribute.MirroredStrategy()
    else:
        resolver = None
        slurm = (
            None
            if read_tf_config() is not None
            else tf_config_from_slurm(
                port=int(os.environ.get("GLYPHVAE_WORKER_PORT", DEFAULT_PORT))
            )
        )
        if slurm is not None:
            resolver = tf.distribute.cluster_resolver.SimpleClusterResolver(
                tf.train.ClusterSpec(slurm["cluster"]),
                task_type="worker",
                task_id=slurm["task"]["index"],
                rpc_layer="grpc",
            )
        try:
            strategy = tf.distribute.MultiWorkerMirroredStrategy(cluster_resolver=resolver)
        except (RuntimeError, ValueError) as e:
            raise RuntimeError(
                "Expected to start a multi-worker strategy from TF_CONFIG at the start of the "
                "process, before TensorFlow ran any operation (train in a fresh process per "
                f"worker). Received: {e}"
            ) from e
    _CREATED[resolved] = strategy
    return strategy


def _cluster(strategy: Any) -> tuple[dict[str, Any], str | None, int | None]:
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None:
        return {}, None, None
    spec = resolver.cluster_spec().as_dict()
    return spec, resolver.task_type, resolver.task_id


def is_distributed(strategy: Any) -> bool:
    """Whether ``strategy`` is anything but TensorFlow's default (single-device) strategy."""
    return type(strategy).__name__ != "_DefaultDistributionStrategy"


def num_workers(strategy: Any) -> int:
    """Number of machines (tasks of type ``chief`` or ``worker``) taking part."""
    spec, _, _ = _cluster(strategy)
    count = sum(len(spec.get(kind, [])) for kind in ("chief", "worker"))
    return max(1, count)


def is_chief(strategy: Any) -> bool:
    """Whether this process writes the run's files: always, except on non-chief workers."""
    spec, task_type, task_id = _cluster(strategy)
    if not spec or task_type is None:
        return True
    if task_type == "chief":
        return True
    return task_type == "worker" and task_id == 0 and "chief" not in spec


def task_name(strategy: Any) -> str:
    """``"worker 1"``-style name of this process in the cluster (``"local"`` outside one)."""
    spec, task_type, task_id = _cluster(strategy)
    return f"{task_type} {task_id}" if spec and task_type is not None else "local"


def in_multi_worker_mode(strategy: Any) -> bool:
    """Whether ``strategy`` spans several processes (collective ops between machines)."""
    extended = getattr(strategy, "extended", None)
    check = getattr(extended, "_in_multi_worker_mode", None)
    return bool(check()) if callable(check) else False


def all_workers_sum(strategy: Any, values: list[float]) -> list[float]:
    """Sum ``values`` over all workers (a collective: every worker must call it).

    Used to make decisions that all workers must share (resume or not, from which epoch).
    Outside a multi-worker run it returns ``values`` unchanged.
    """
    if not in_multi_worker_mode(strategy):
        return [float(v) for v in values]
    import tensorflow as tf

    local = tf.constant(values, dtype=tf.float64)
    replicas = max(1, len(strategy.extended.worker_devices))  # on this worker

    def per_replica() -> Any:
        # each worker contributes its values once, whatever its number of replicas
        first = tf.distribute.get_replica_context().replica_id_in_sync_group % replicas == 0
        return tf.where(first, local, tf.zeros_like(local))

    @tf.function  # collectives run eagerly are slow, and TensorFlow warns about it
    def total() -> Any:
        return strategy.reduce("SUM", strategy.run(per_replica), axis=None)

    return [float(v) for v in total().numpy()]


@contextlib.contextmanager
def keras_multi_worker_fix(strategy: Any) -> Iterator[None]:
    """Work around Keras 3's failing metric reduction under ``MultiWorkerMirroredStrategy``.

    Keras 3 (up to at least 3.15) reduces each scalar metric of a multi-worker step with
    ``strategy.reduce("MEAN", value, axis=0)``, which fails with "Invalid reduction dimension
    0 for input with 0 dimensions" (tensorflow/tensorflow#72388). While this context is
    active, scalars are averaged over workers with ``axis=None`` instead. Outside
    multi-worker runs, or if Keras' internals moved, it does nothing.
    """
    if not in_multi_worker_mode(strategy):
        yield
        return
    try:
        from keras.src.backend.tensorflow import trainer as tf_trainer

        original = tf_trainer.reduce_per_replica
        is_multi_worker = tf_trainer._collective_all_reduce_multi_worker
    except (ImportError, AttributeError):
        yield
        return
    import tensorflow as tf

    def reduce_per_replica(values: Any, strategy: Any, reduction: str) -> Any:
        if reduction in ("auto", "mean") and is_multi_worker(strategy):

            def mean(v: Any) -> Any:
                axis = None if v.shape.rank == 0 else 0
                return strategy.reduce("MEAN", v, axis=axis)

            return tf.nest.map_structure(mean, values)
        return original(values, strategy, reduction)

    tf_trainer.reduce_per_replica = reduce_per_replica
    try:
        yield
    finally:
        tf_trainer.reduce_per_replica = original


def shard_by_data(dataset: Any) -> Any:
    """Set ``dataset`` to be sharded by element (``AutoShardPolicy.DATA``) across workers.

    Every worker runs the whole (cheap, in-memory) pipeline with the same seed and keeps its
    share of each global batch, so the workers together train on exactly the batches of a
    single-process run. Sharding by file is impossible (the crops are already in memory),
    and ``OFF`` would make every worker train on every crop.
    """
    import tensorflow as tf

    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return dataset.with_options(options)


def match_distributed_data_order(dataset: Any, strategy: Any) -> None:
    """Without a strategy, make one throwaway pass over ``dataset``.

    Under a ``tf.distribute`` strategy, Keras' ``fit`` first draws one batch from a fresh
    iterator to build the model, which moves a seeded, reshuffled pipeline on by one pass.
    Doing the same without a strategy gives the same batches, epoch for epoch, on one device
    and on many (the ``fit`` call after this sees the pipeline's second pass). The pass is
    read to the end, so that a ``cache()`` in the pipeline completes (a partly read cache is
    discarded with a warning); for in-memory crops it costs about one epoch of jitter.
    """
    if not is_distributed(strategy):
        for _ in dataset:
            pass


def scale_loss_per_replica(model: Any, strategy: Any) -> None:
    """Make ``model.compute_loss`` return its loss divided by the number of replicas.

    ``tf.distribute`` *sums* the replicas' gradients, and Keras' train step multiplies the
    loss it reports by the replica count again (``unscale_loss_for_distribution``). Keras'
    compiled losses divide by the replica count themselves; a ``compute_loss`` override
    that returns a per-replica mean, as :class:`~glyphvae.models.GlyphVAE`'s does, must be
    divided here, or the gradients and the reported losses grow with the replica count.
    """
    replicas = int(strategy.num_replicas_in_sync)
    if replicas <= 1 or getattr(model, "_loss_scaled_per_replica", False):
        return
    compute = model.compute_loss

    def compute_loss(
        x: Any = None,
        y: Any = None,
        y_pred: Any = None,
        sample_weight: Any = None,
        training: bool = True,
    ) -> Any:
        return compute(x, y, y_pred, sample_weight, training=training) / replicas

    model.compute_loss = compute_loss
    model._loss_scaled_per_replica = True


def clip_after_all_reduce(optimizer: Any, strategy: Any) -> None:
    """Make ``optimizer`` clip the replicas' *summed* gradient, as one process would.

    Keras 3 clips each replica's gradients (``global_clipnorm``, ``clipnorm``,
    ``clipvalue``) before ``tf.distribute`` sums them, so with clipping active N replicas
    take steps up to N times longer than a single process. Patched, each replica sums the
    gradients first, clips the sum and keeps a ``1/N`` share of it, which the optimizer's own
    all-reduce then adds back up to the clipped sum. Costs one more all-reduce per step.
    """
    replicas = int(strategy.num_replicas_in_sync)
    inner = getattr(optimizer, "inner_optimizer", optimizer)  # under a LossScaleOptimizer
    clips = (inner.global_clipnorm, inner.clipnorm, inner.clipvalue)
    if replicas <= 1 or all(c is None for c in clips) or getattr(inner, "_clips_sum", False):
        return
    import tensorflow as tf

    clip = inner._clip_gradients

    def _clip_gradients(grads: list[Any]) -> list[Any]:
        context = tf.distribute.get_replica_context()
        if context is None:
            return list(clip(grads))
        present = [i for i, g in enumerate(grads) if g is not None]
        summed = context.all_reduce(tf.distribute.ReduceOp.SUM, [grads[i] for i in present])
        clipped = clip(list(summed))
        out = list(grads)
        for i, g in zip(present, clipped, strict=True):
            out[i] = g / replicas
        return out

    inner._clip_gradients = _clip_gradients
    inner._clips_sum = True


def local_copy(model: Any) -> Any:
    """``model`` rebuilt outside any distribution strategy, with the same weights.

    A model created in a strategy's scope runs ``predict`` (and so ``generate``,
    ``reconstruct``, ``fit_prior``) as a distributed computation that every worker must
    join; the chief writes its pictures and files with this plain copy instead.
    """
    import keras

    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(model.dtype_policy.name)  # mixed precision sub-layers too
    try:
        twin = type(model).from_config(model.get_config())
    finally:
        keras.config.set_dtype_policy(previous)
    twin.set_weights(model.get_weights())
    return twin
