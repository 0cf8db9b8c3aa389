"""The facts the scripts read from `infra list --json` instead of keeping copies: the
environments, the alarm catalogue, the log retentions CloudWatch accepts and the registry of
resource types the stacks use (`infra::cfn::types`)."""

import json
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def facts(infra: Path | None = None) -> dict:
    """`infra list --json`, from the binary `infra` or else built and run with cargo."""
    cmd = [str(infra)] if infra else ["cargo", "run", "--quiet", "--locked", "-p", "infra", "--"]
    cmd += ["--environments", str(REPO / "environments"), "list", "--json"]
    p = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=900)
    if p.returncode != 0:
        raise SystemExit(f"error: `{' '.join(cmd)}` exited {p.returncode}: {p.stderr.strip()}")
    return json.loads(p.stdout)


def resource_types(infra: Path | None = None) -> list[dict]:
    """The registry's rows: type, service, name_property, name_limit, arn, policies, permission."""
    return facts(infra)["resource_types"]
