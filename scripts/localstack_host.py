"""Runs LocalStack on the host (no Docker) for the deploy tests.

Lambda's Docker runtime is switched off: preparing a function version would pull a runtime
image and download an init binary, so functions would never become Active. With it off they
become Active at once; they cannot be invoked, which the deploy tests do not need.

With LOCALSTACK_OWNER_PID set, LocalStack stops itself (SIGTERM, its own clean shutdown) once
that process has ended: a test run that started it leaves nothing behind.
"""

import os
import signal
import threading
import time

from localstack.runtime import main
from localstack.services.lambda_.invocation import docker_runtime_executor


def _prepare_version(cls, function_version):
    return None


docker_runtime_executor.DockerRuntimeExecutor.prepare_version = classmethod(_prepare_version)

def _watch_owner(pid: int) -> None:
    while True:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            os.kill(os.getpid(), signal.SIGTERM)
            return
        except PermissionError:
            pass
        time.sleep(1)


if __name__ == "__main__":
    owner = os.environ.get("LOCALSTACK_OWNER_PID")
    if owner and owner.isdigit():
        threading.Thread(target=_watch_owner, args=(int(owner),), daemon=True).start()
    main.main()
