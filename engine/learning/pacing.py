"""How training reports its progress and keeps to its time budget: `TrainerCallback`s,
built on call so that importing this module does not import transformers."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def step_reporter(progress: Callable[[str], None]) -> Any:
    """A `TrainerCallback` that reports every tenth of the steps with the time left."""
    from transformers import TrainerCallback

    class Reporter(TrainerCallback):
        def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            self.started = time.perf_counter()
            progress(f"  training {state.max_steps} steps")

        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            done, total = state.global_step, state.max_steps
            if done == total or done % max(1, total // 10):
                return
            left = (time.perf_counter() - self.started) / done * (total - done)
            when = f"{left / 60:.0f} min" if left >= 90 else f"{left:.0f} s"
            progress(f"  step {done}/{total}, about {when} left")

    return Reporter()


def time_budget(seconds: float) -> Any:
    """A `TrainerCallback` that stops training once `seconds` have passed (0: never);
    its `stopped` says whether it did."""
    from transformers import TrainerCallback

    class Budget(TrainerCallback):
        stopped = False

        def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            self.started = time.perf_counter()

        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            if seconds and time.perf_counter() - self.started > seconds \
                    and state.global_step < state.max_steps:
                control.should_training_stop = True
                self.stopped = True

    return Budget()
