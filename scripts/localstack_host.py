"""Runs LocalStack on the host (no Docker) for the deploy tests.

Lambda's Docker runtime is switched off: preparing a function version would pull a runtime
image and download an init binary, so functions would never become Active. With it off they
become Active at once; they cannot be invoked, which the deploy tests do not need.
"""

from localstack.runtime import main
from localstack.services.lambda_.invocation import docker_runtime_executor


def _prepare_version(cls, function_version):
    return None


docker_runtime_executor.DockerRuntimeExecutor.prepare_version = classmethod(_prepare_version)

if __name__ == "__main__":
    main.main()
