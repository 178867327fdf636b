"""A training session: one run spec trained epoch by epoch, as events.

The session owns the data, the model and its compiled epoch; `train_epoch()` trains one
epoch and returns its events. It knows nothing of threads or HTTP: a driver (see
`control.drive`) decides when to call it.

>>> session = TrainingSession(parse_spec({"dataset": {"name": "line"}, "training": {"epochs": 3}}))
>>> while not session.finished:
...     events = session.train_epoch()
>>> session.done_event().state
'finished'
"""

from __future__ import annotations

import math
import threading
import time

import numpy as np
import tensorflow as tf

from ..data import gallery_split, input_shape, loss_of, make_dataset, network_inputs, probe_split
from ..specs import DoneEvent, EpochEvent, Event, FrameEvent, LayerWeights, RunSpec, StartEvent
from .frames import image_frame, plane_frame, plane_grid
from .cohort import AHEAD, COHORTS, Cohorts
from .ending import finite, done_event
from .microscopy import MICROSCOPY, map_frame, patches
from .model import build_model, output_units, targets
from .pool import PROGRAMS, ProgramPool
from .program import EpochProgram, evaluate
from .stacked import Layout, stackable
from .upcoming import Upcoming


class TrainingSession:
    """Trains `spec` epoch by epoch. `max_frames_per_second` None: a frame whenever due."""

    def __init__(self, spec: RunSpec, *, resolution: int = 64, thumb: int = 16,
                 max_frames_per_second: float | None = 20.0, pool: ProgramPool = PROGRAMS,
                 cohorts: Cohorts | None = COHORTS):
        """`cohorts`: where runs of the same architecture meet to train their epochs in one
        call (see `cohort`); None trains this run alone, always on its solo program."""
        self.spec = spec
        self.data = data = make_dataset(spec.dataset)
        self.kind, self.n_classes = data.kind, data.n_classes
        self.microscopy = self.kind in MICROSCOPY
        if self.microscopy and spec.unet.output == "three_class":
            self.n_classes = 3  # background, interior, boundary per pixel
        self.loss_name = loss_of(spec, self.kind)
        # Training runs on a program shared by runs of the same architecture; this run's
        # own Keras model is built only when asked for (saving, inspection).
        self._model = None
        self._pool = pool
        self._state: list | None = None
        self._state_lock = threading.Lock()
        self._synced_epoch = 0
        self._learning_rate = spec.training.learning_rate
        self.resolution, self.thumb = resolution, thumb
        self.max_frames_per_second = max_frames_per_second  # the runner may lower it when busy

        self.input_shape = input_shape(spec)
        self.images = data.input == "image"

        def tensors(xy, labels):
            return (tf.constant(network_inputs(xy, spec.features, data.input)),
                    tf.constant(targets(labels, self.kind, self.n_classes)))

        self._x, self._y = tensors(data.x_train, data.y_train)
        self._xv, self._yv = tensors(data.x_val, data.y_val)
        self._upcoming = Upcoming(spec.training, spec.dataset.n_train)  # orders, frames, epochs ahead
        self._in_order = tf.range(spec.dataset.n_train, dtype=tf.int32)  # unshuffled: every epoch's order
        out_range = (0.0, 1.0)
        if self.kind == "regression":
            out_range = (float(np.min(data.y_train)), float(np.max(data.y_train)))
        self.output_range = out_range
        if self.microscopy:
            # The probe: the first validation image (else test, else training), whole.
            x, _ = probe_split(data)
            self._probe = (0, (tf.constant(x[:1]),))
            self._patch_rng = np.random.default_rng(spec.training.seed + 1)
            self._train_x = network_inputs(data.x_train, spec.features, data.input)
            self._train_y = targets(data.y_train, self.kind, self.n_classes)
        elif self.images:
            # The gallery (and the probes to pick from): the same images the page draws.
            x, self.gallery_labels = gallery_split(data)
            self._gallery = tf.constant(x)
            self._probe = (0, (self._gallery[:1], self._gallery))
        else:
            grid = tf.constant(network_inputs(plane_grid(data.extent, resolution), spec.features, "points"))
            thumbs = tf.constant(network_inputs(plane_grid(data.extent, thumb), spec.features, "points"))
            self._probe = (0, (grid, thumbs, tf.constant(out_range, tf.float32)))
        self.key = self._program_key()
        self._cohort, self.cohort_key = None, None
        if cohorts is not None and not self.images and stackable(spec):
            self.cohort_key = self.key + (spec.dataset.n_val, resolution, thumb)
            self._cohort = cohorts.get(self.cohort_key, dict(
                n_train=spec.dataset.n_train, batch_size=spec.training.batch_size,
                n_features=self.input_shape[0], n_outputs=output_units(self.kind, self.n_classes),
                has_val=spec.dataset.n_val > 0))
            self._cohort.enter(self)  # its epoch 0 comes soon: a new cohort's first call waits for it

        self.epoch = 0
        self.state = "running"
        self.history: list[EpochEvent] = []
        self.last_finite: EpochEvent | None = None
        self._best_val = math.inf
        self._epochs_without_gain = 0
        # Early stopping as Keras's EarlyStopping(monitor='val_loss', patience=P,
        # restore_best_weights=True): the weights of the best epoch, put back at the end.
        self._best_weights: list | None = None
        self.best_epoch: int | None = None
        self._restored = False  # the best weights were put back over later ones
        self._frame_epoch = 0
        self._started = False  # epoch 0 (start_events) told

    # ----- the shared program and this run's state -----

    def _program_key(self) -> tuple:
        """What a compiled program bakes in: runs with equal keys can share one."""
        s, t = self.spec, self.spec.training
        return (self.input_shape, tuple(tuple(layer.model_dump().items()) for layer in s.layers),
                self.kind, self.n_classes, self.loss_name, t.optimizer, t.momentum,
                t.regularization, t.regularization_rate, s.dataset.n_train, t.batch_size,
                s.dataset.n_val > 0, tuple(t.augment.model_dump().items()) if self.images else (),
                tuple(s.unet.model_dump().items()) if s.unet else ())

    def _new_program(self) -> EpochProgram:
        spec = self.spec
        template = build_model(spec, self.kind, self.n_classes, self.loss_name, self.input_shape)
        shape, target = self.input_shape, None
        if self.microscopy:  # trains on patches; the targets are maps
            shape = (spec.unet.patch, spec.unet.patch, 1)
            target = (spec.unet.patch, spec.unet.patch, self._train_y.shape[-1])
        return EpochProgram(template, self.kind, n_train=spec.dataset.n_train, target_shape=target,
                            batch_size=spec.training.batch_size, input_shape=shape,
                            n_outputs=output_units(self.kind, self.n_classes),
                            has_val=spec.dataset.n_val > 0)

    def _borrow(self):
        return self._pool.borrow(self.key, self._new_program)

    def _solo(self, request: dict) -> tuple:
        """One epoch of a request on the solo program: (results, state). A state from a
        cohort's call holds numpy arrays; the solo program takes tensors."""
        state = [v if isinstance(v, tf.Tensor) else tf.constant(v) for v in request["state"]]
        with self._borrow() as program:
            return program.run(state, request["x"], request["y"], request["perm"],
                               request["xv"], request["yv"], request["inputs"], request["want_frame"])


    def _solo_start(self, request: dict) -> tuple:
        """Epoch 0 of a request on the solo program: (loss, metric, val_loss, val_metric,
        probe). Eager: 25 ms once per run, where tracing would cost 150-300 ms."""
        with self._borrow() as program:
            program.load(request["state"])
            loss, metric = evaluate(program.model, self.kind, request["x"], request["y"])
            val_loss = val_metric = None
            if self.spec.dataset.n_val > 0:
                val_loss, val_metric = evaluate(program.model, self.kind, request["xv"], request["yv"])
            probe = tf.nest.map_structure(lambda t: t.numpy(), program.probe(*request["inputs"]))
            if self.images and not self.microscopy:
                self._layer_indices = program.view.layer_indices()
        return loss, metric, val_loss, val_metric, probe

    def leave_cohort(self) -> None:
        """Paused or ended: its cohort need not wait for it (it joins again when it asks)."""
        if self._cohort is not None:
            self._cohort.leave(self)

    def _ensure_state(self, program: EpochProgram) -> None:
        if self._cohort is not None and self._cohort.layout is None:
            self._cohort.layout = Layout(program, self.spec)  # where the stacked programs find each part
        with self._state_lock:  # a prediction may ask for it beside the training thread
            if self._state is None:
                self._lr_index = program.learning_rate_index
                self._weight_slots = program.weight_slots
                self._n_model_variables = len(program.model.variables)
                self._state = program.initial_state(self.spec.training.seed, self._learning_rate)

    @property
    def model(self):
        """This run's own compiled Keras model with its current weights (saving, inspection)."""
        if self._model is None:
            self._model = build_model(self.spec, self.kind, self.n_classes, self.loss_name, self.input_shape)
            self._synced_epoch = 0
        if self._state is not None and self._synced_epoch != self.epoch:
            for variable, value in zip(self._model.variables, self._state[:self._n_model_variables]):
                variable.assign(value)
            self._synced_epoch = self.epoch
        return self._model

    def model_file(self) -> bytes:
        """This run's model as a `.keras` file, from the shared program and this run's state:
        no model of its own to build (0.1 s), no Keras save of its own (15-45 ms; see
        `saving`), thirty of each when a class ends together."""
        with self._borrow() as program:
            self._ensure_state(program)
            return program.keras_file(self._state)

    # ----- controls -----

    @property
    def finished(self) -> bool:
        return self.state != "running"

    @property
    def learning_rate(self) -> float:
        return self._learning_rate

    def set_learning_rate(self, value: float) -> None:
        """Change the step size from the next batch on; the weights and optimizer state stay
        (what was trained ahead at the old rate is dropped)."""
        self._learning_rate = float(value)
        self._upcoming.drop()
        if self._state is not None:
            self._state[self._lr_index] = tf.constant(value, self._state[self._lr_index].dtype)

    def predict(self, image: np.ndarray | None = None, index: int | None = None) -> dict:
        """Class probabilities and feature maps of a drawn `image` (h, w, c) or of gallery
        image `index` (which becomes the probe of the following frames), with the current
        weights. Safe beside the training thread: it borrows a program of its own."""
        if not self.images:
            raise ValueError("only image runs classify one image")
        if index is not None:
            # One assignment: an epoch reads the probe once, so its frame never mixes two.
            self._probe = (index, (self._gallery[index:index + 1], self._gallery))
            image = self._gallery[index].numpy()
        from .predict import predict_image  # only image runs need it
        with self._borrow() as program:
            self._ensure_state(program)
            program.load(self._state)
            return predict_image(program.model, self.kind, self.input_shape, image, self.epoch)

    def apply(self, image: np.ndarray) -> dict:
        """A microscopy run's current network over a whole uploaded `image` (height, width),
        raw values (see `microscopy.apply_unet`). Beside the training thread, as `predict`."""
        if not self.microscopy:
            raise ValueError("only microscopy runs (a U-Net) apply to an uploaded image")
        from .microscopy import apply_unet
        with self._borrow() as program:
            self._ensure_state(program)
            program.load(self._state)
            return apply_unet(program.model, self.spec.unet, image, self.epoch)

    def stop(self) -> None:
        if not self.finished:
            self.state = "stopped"
        self._upcoming.drop()
        self.leave_cohort()

    # ----- training -----

    def start_events(self) -> list[Event]:
        """Epoch 0: the untrained network (random weights, zero bias) before its first update,
        as a StartEvent (its loss and metric on the training and validation sets) and a frame.
        One evaluation; [] once the run has trained an epoch (or was asked before)."""
        if self.epoch > 0 or self._started:
            return []
        self._started = True
        if self._state is None:
            with self._borrow() as program:
                self._ensure_state(program)
        index, inputs = self._probe
        request = {"state": self._state, "x": self._x, "y": self._y, "perm": self._in_order,
                   "xv": self._xv, "yv": self._yv, "inputs": inputs}
        if self._cohort is not None:  # a class pressing Train together: one call for them all
            loss, metric, val_loss, val_metric, probe = self._cohort.start(self, request, self._solo_start)
        else:
            loss, metric, val_loss, val_metric, probe = self._solo_start(request)
        val_loss, val_metric = finite(val_loss) if val_loss is not None else None, \
            finite(val_metric) if val_metric is not None else None
        start = StartEvent(loss=finite(loss), metric=finite(metric), val_loss=val_loss, val_metric=val_metric)
        return [start, self._frame(probe, index)]

    def train_epoch(self) -> list[Event]:
        """Train one epoch; return its EpochEvent and, when due, a FrameEvent. In a cohort,
        a run asks for up to `cohort.AHEAD` epochs after it too, trained while it publishes
        this one (`cohort_lane.train_ahead`): the same state, rate, order and frame it would ask."""
        if self.finished:
            return []
        self.epoch += 1
        index, inputs = self._probe  # read once: a probe picked meanwhile waits for the next epoch
        started = time.perf_counter()
        ahead = self._upcoming.next_ahead()
        if ahead is not None:
            out, self._state, want_frame = ahead
            return self._epoch_events(out, want_frame, index, started)
        more = min(AHEAD, self.spec.training.epochs - self.epoch) if self._cohort is not None else 0
        # Orders asked for ahead stay numpy: a run alone never uses them; a stacked call stacks them.
        orders = [self._in_order if o is None else o for o in self._upcoming.take_orders(1 + more)]
        wanted = self._upcoming.frames_due(self.epoch, 1 + more, self.max_frames_per_second)
        perm, want_frame = tf.convert_to_tensor(orders[0]), wanted[0]
        if self.microscopy:  # new random patches (and quarter turns, flips) every epoch
            xp, yp = patches(self._train_x, self._train_y, self.spec.unet.patch, self._patch_rng)
            self._x, self._y = tf.constant(xp), tf.constant(yp)
        if self._state is None or (self.images and not self.microscopy and not hasattr(self, "_layer_indices")):
            with self._borrow() as program:
                self._ensure_state(program)
                if self.images and not self.microscopy:
                    self._layer_indices = program.view.layer_indices()
        request = {"state": self._state, "x": self._x, "y": self._y, "perm": perm,
                   "xv": self._xv, "yv": self._yv, "inputs": inputs, "want_frame": want_frame}
        if self._cohort is not None:
            request["ahead"] = [{"perm": p, "want_frame": w} for p, w in zip(orders[1:], wanted[1:])]
            out, self._state = self._cohort.train(self, request, self._solo)
            self._upcoming.add(out.pop("ahead", ()))
        else:
            out, self._state = self._solo(request)
        return self._epoch_events(out, want_frame, index, started)

    def _epoch_events(self, out: dict, want_frame: bool, index: int, started: float) -> list[Event]:
        """The events of the epoch just trained (`out`, its results; the state is set)."""
        event = EpochEvent(
            epoch=self.epoch, loss=finite(out["loss"]), metric=finite(out["metric"]),
            val_loss=finite(out["val_loss"]) if "val_loss" in out else None,
            val_metric=finite(out["val_metric"]) if "val_metric" in out else None,
            learning_rate=self.learning_rate, seconds=time.perf_counter() - started,
            extras={k: finite(v) for k, v in out["extras"].items()} if "extras" in out else None)
        self.history.append(event)
        events: list[Event] = [event]
        if event.loss is None:
            self.state = "diverged"  # the last frame would be NaN: keep the previous one
            self._upcoming.drop()
            self.leave_cohort()
            return events
        self.last_finite = event
        if want_frame:
            events.append(self._frame(out["frame"], index))
        self._update_state(event)
        if self.finished:
            self._upcoming.drop()
            self.leave_cohort()
        return events

    def _update_state(self, event: EpochEvent) -> None:
        patience = self.spec.training.early_stopping_patience
        if patience is not None and self.spec.dataset.n_val > 0:
            # Keras: the first epoch's weights are the best until one improves on them; an
            # improvement is a strictly lower val_loss; `patience` epochs without one stop.
            weights = list(self._state[:self._n_model_variables])
            if self._best_weights is None:
                self._best_weights, self.best_epoch = weights, self.epoch
            self._epochs_without_gain += 1
            if event.val_loss is not None and event.val_loss < self._best_val:
                self._best_val, self._epochs_without_gain = event.val_loss, 0
                self._best_weights, self.best_epoch = weights, self.epoch
            elif self._epochs_without_gain >= patience and self.epoch > 1:
                self.state = "early_stopped"
        if self.state == "running" and self.epoch >= self.spec.training.epochs:
            self.state = "finished"

    def _restore_best(self) -> bool:
        """At the end, however it ended (as Keras's on_train_end), put back the best epoch's
        weights; True when they differ from the last trained epoch's."""
        if self._best_weights is not None and self.finished:
            self._state = list(self._best_weights) + list(self._state[self._n_model_variables:])
            self._best_weights, self._synced_epoch = None, -1  # the model syncs them again
            self._restored = self.best_epoch != self.epoch
        return self._restored

    def _frame(self, probe, probe_index: int) -> FrameEvent:
        self._upcoming.frame_drawn(self.max_frames_per_second)
        self._frame_epoch = self.epoch
        if self.microscopy:
            return map_frame(self.epoch, probe, probe_index)
        if self.images:
            conv_layers, map_layers, map_totals = self._layer_indices
            return image_frame(self.epoch, probe, conv_layers=conv_layers, map_layers=map_layers,
                               map_totals=map_totals, probe_index=probe_index,
                               probe_label=int(self.gallery_labels[probe_index]),
                               gallery_labels=self.gallery_labels)
        return plane_frame(self.epoch, probe, resolution=self.resolution, thumb=self.thumb,
                           extent=self.data.extent, output_range=self.output_range, weights=self.weights())

    def weights(self) -> list[LayerWeights]:
        """Every Dense layer's kernel [inputs][units] and bias, rounded for the wire."""
        return [LayerWeights.model_construct(kernel=np.round(np.asarray(self._state[k]), 5).tolist(),
                                             bias=np.round(np.asarray(self._state[b]), 5).tolist())
                for k, b in self._weight_slots]

    def final_frame(self) -> FrameEvent | None:
        """A frame of the final weights, when the last trained epoch did not get one."""
        restored = self._restore_best()
        if self.epoch == 0 or (self._frame_epoch == self.epoch and not restored) or self.state == "diverged":
            return None
        with self._borrow() as program:
            program.load(self._state)
            index, inputs = self._probe
            out = program.probe(*inputs)
            return self._frame(tf.nest.map_structure(lambda t: t.numpy(), out), index)

    def done_event(self, message: str | None = None) -> DoneEvent:
        """Final figures: last finite epoch, test set, confusion matrix, parameter count."""
        # With early stopping, the figures are those of the epoch whose weights were kept.
        last = self.history[self.best_epoch - 1] if self._restore_best() else self.last_finite
        with self._borrow() as program:
            self._ensure_state(program)
            tested = self.state != "diverged" and self.spec.dataset.n_test > 0 and self.epoch > 0
            return done_event(self, program, self._state, last, tested, message)
