"""The guides' commands work: every ```sh test block of docs/quickstart.md and docs/operations.md
runs, in order, in a temporary directory standing in for the machine's /etc/mailport and
/var/mail/vhosts, with the mailport under test first on PATH."""

import os
import pathlib
import re
import subprocess

import pytest

from conftest import BIN, ROOT

GUIDES = ["docs/quickstart.md", "docs/operations.md"]
BLOCK = re.compile(r"^( *)```sh test\n(.*?)^\1```$", re.S | re.M)
BLOCK_TIMEOUT = 60


def runnable_blocks(path):
    blocks = []
    for match in BLOCK.finditer(path.read_text()):
        indent = len(match.group(1))
        lines = [line[indent:] for line in match.group(2).splitlines()]
        blocks.append("\n".join(lines) + "\n")
    return blocks


def relocated(script, root):
    for system_path in ("/etc/mailport", "/var/mail/vhosts"):
        script = script.replace(system_path, str(root) + system_path)
    return script


@pytest.mark.parametrize("guide", GUIDES)
def test_guide_commands_run(guide, tmp_path):
    blocks = runnable_blocks(ROOT / guide)
    assert len(blocks) >= 3, f"{guide}: expected runnable ```sh test blocks"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "mailport").symlink_to(pathlib.Path(BIN).resolve())
    root = tmp_path / "root"
    (root / "etc" / "mailport").mkdir(parents=True)
    (root / "var" / "mail" / "vhosts").mkdir(parents=True)
    env = dict(os.environ, PATH=f"{bin_dir}:{os.environ['PATH']}", HOME=str(tmp_path))
    for number, block in enumerate(blocks, 1):
        result = subprocess.run(["bash", "-euo", "pipefail", "-c", relocated(block, root)],
                                cwd=tmp_path, env=env, capture_output=True, text=True,
                                timeout=BLOCK_TIMEOUT)
        assert result.returncode == 0, (f"{guide}, runnable block {number} failed "
                                        f"({result.returncode}):\n{block}\n{result.stderr}")

