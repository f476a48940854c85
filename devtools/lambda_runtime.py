"""Run template functions inside this process, the way `make run` and the local API need.

Every function's `app.py` is imported by file path under a module name of its own, so two
functions' `app` modules never collide, and each call runs with that function's environment
applied (and restored after). Calls are serialised: a Lambda container handles one event at a
time, and the environment is process-wide.
"""

from __future__ import annotations

import importlib.util
import sys
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from contextlib import nullcontext, redirect_stdout
from dataclasses import dataclass, field
from types import ModuleType
from typing import IO, Any

from devtools.local_services import applied_environment
from devtools.template import LOCAL_ACCOUNT_ID, LOCAL_REGION, FunctionSpec

Handler = Callable[[dict[str, Any], Any], Any]


@dataclass
class LocalLambdaContext:
    """The attributes of the real LambdaContext, with the function's own name and limits."""

    function_name: str
    memory_limit_in_mb: int
    timeout_seconds: int
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    _started: float = field(default_factory=time.monotonic)

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{LOCAL_REGION}:{LOCAL_ACCOUNT_ID}:function:{self.function_name}"

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.function_name}"

    @property
    def log_stream_name(self) -> str:
        return f"local/[$LATEST]{self.aws_request_id[:8]}"

    def get_remaining_time_in_millis(self) -> int:
        elapsed = time.monotonic() - self._started
        return max(0, int((self.timeout_seconds - elapsed) * 1000))


def runtime_variables(spec: FunctionSpec) -> dict[str, str]:
    """Variables the Lambda runtime itself sets (`AWS_SAM_LOCAL` as sam local does: Powertools
    Tracer then stays quiet instead of looking for an X-Ray daemon)."""
    return {
        "AWS_LAMBDA_FUNCTION_NAME": spec.logical_id,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_mb),
        "AWS_LAMBDA_FUNCTION_TIMEOUT": str(spec.timeout_seconds),
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_REGION": LOCAL_REGION,
        "AWS_SAM_LOCAL": "true",
        "LAMBDA_TASK_ROOT": str(spec.code_dir),
    }


def load_function_module(spec: FunctionSpec) -> ModuleType:
    """Import the function's handler module by path, as `lambda_<LogicalId>`.

    Layer folders go on sys.path for good (they are /opt/python for every function); the code
    folder only while the module imports, for any sibling module it brings along.
    """
    for folder in spec.layer_dirs:
        if str(folder) not in sys.path:
            sys.path.append(str(folder))
    name = f"lambda_{spec.logical_id}"
    if name in sys.modules:
        return sys.modules[name]
    module_spec = importlib.util.spec_from_file_location(name, spec.handler_path)
    if module_spec is None or module_spec.loader is None:
        raise ImportError(f"cannot load {spec.handler_path} for {spec.logical_id}")
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[name] = module
    sys.path.insert(0, str(spec.code_dir))
    try:
        module_spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    finally:
        sys.path.remove(str(spec.code_dir))
    return module


class InProcessFunctions:
    """Invokes template functions in this process with their environments applied."""

    def __init__(
        self,
        environment_for: Callable[[FunctionSpec], Mapping[str, str]],
        *,
        log_stream: IO[str] | None = None,
    ) -> None:
        self._environment_for = environment_for
        self._log_stream = log_stream  # where the functions' stdout (logs, EMF) goes
        self._lock = threading.Lock()
        self._handlers: dict[str, Handler] = {}
        self._last_environment: dict[str, str] | None = None

    def _output(self) -> Any:
        return redirect_stdout(self._log_stream) if self._log_stream else nullcontext()

    def _handler(self, spec: FunctionSpec) -> Handler:
        if spec.logical_id not in self._handlers:
            module = load_function_module(spec)
            self._handlers[spec.logical_id] = getattr(module, spec.handler_function)
        return self._handlers[spec.logical_id]

    def invoke(self, spec: FunctionSpec, event: dict[str, Any]) -> Any:
        environment = {**self._environment_for(spec), **runtime_variables(spec)}
        with self._lock, applied_environment(environment), self._output():
            if environment != self._last_environment:
                self._forget_settings()
                self._last_environment = environment
            handler = self._handler(spec)
            context = LocalLambdaContext(spec.logical_id, spec.memory_mb, spec.timeout_seconds)
            return handler(event, context)

    @staticmethod
    def _forget_settings() -> None:
        # Settings are cached per container; here one process hosts every function, so a
        # function whose environment differs must not see the previous one's settings.
        config = sys.modules.get("inventory.config")
        if config is not None:
            config.get_settings.cache_clear()
