"""`mailport completion` and `mailport man` are generated from the CLI11 tree: they list every
subcommand and option that --help shows, and bash accepts the script."""

import pathlib
import re
import shutil
import subprocess

import pytest

from conftest import BIN


def run(*args, **kwargs):
    return subprocess.run([BIN, *args], capture_output=True, text=True, timeout=30, **kwargs)


def help_subcommands(path=()):
    """Subcommand names that `mailport [path] --help` lists."""
    out = run(*path, "--help").stdout
    if "Subcommands:" not in out:
        return []
    section = out.split("Subcommands:", 1)[1]
    return re.findall(r"^  (\S+)", section, re.M)


def all_commands():
    commands, pending = [], [()]
    while pending:
        path = pending.pop(0)
        commands.append(path)
        pending.extend(path + (name,) for name in help_subcommands(path))
    return commands


def help_options(path):
    out = run(*path, "--help").stdout
    return set(re.findall(r"(?<![\w-])(--[a-z][\w-]*)", out.split("Subcommands:", 1)[0]))


def test_every_command_is_found():
    names = {path[0] for path in all_commands() if path}
    assert {"serve", "user", "config", "hash", "completion", "man"} <= names
    assert ("user", "add") in all_commands()


def test_bash_completion_lists_every_subcommand_and_option():
    script = run("completion", "bash").stdout
    for path in all_commands():
        case = re.search(rf"^    '{'/'.join(path)}'\) words='([^']*)'", script, re.M)
        assert case, f"no completion case for {path}"
        words = set(case.group(1).split())
        assert set(help_subcommands(path)) <= words, path
        assert help_options(path) <= words, (path, help_options(path) - words)


@pytest.mark.skipif(not shutil.which("bash"), reason="needs bash")
def test_bash_loads_the_completion_and_completes(tmp_path):
    probe = f"""
source <({BIN} completion bash)
complete -p mailport
COMP_WORDS=(mailport us); COMP_CWORD=1; _mailport; echo "1:${{COMPREPLY[*]}}"
COMP_WORDS=(mailport user a); COMP_CWORD=2; _mailport; echo "2:${{COMPREPLY[*]}}"
COMP_WORDS=(mailport serve --log-f); COMP_CWORD=2; _mailport; echo "3:${{COMPREPLY[*]}}"
touch {tmp_path}/my.toml
COMP_WORDS=(mailport serve --config {tmp_path}/my); COMP_CWORD=3; _mailport; echo "4:${{COMPREPLY[*]}}"
"""
    out = subprocess.run(["bash", "-c", probe], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == "complete -F _mailport mailport"
    assert "1:user" in lines
    assert "2:add" in lines
    assert "3:--log-format" in lines
    assert f"4:{tmp_path}/my.toml" in lines


def test_zsh_script_wraps_the_bash_one():
    out = run("completion", "zsh")
    assert out.returncode == 0
    assert out.stdout.startswith("autoload -U +X bashcompinit && bashcompinit\n")
    assert "complete -F _mailport mailport" in out.stdout


def test_completion_rejects_unknown_shells():
    out = run("completion", "fish")
    assert out.returncode != 0
    assert "fish" in out.stderr


def test_man_page_documents_every_command_and_option():
    page = run("man").stdout
    assert page.startswith(".TH MAILPORT 1 ")
    for path in all_commands():
        if path:
            assert f'.SS "mailport {" ".join(path)}"' in page, path
        for option in help_options(path):
            assert "\\fB" + option.replace("-", "\\-") + "\\fR" in page, (path, option)


@pytest.mark.skipif(not shutil.which("man"), reason="needs man-db")
def test_man_renders_the_page(tmp_path):
    page = tmp_path / "mailport.1"
    page.write_text(run("man").stdout)
    out = subprocess.run(["man", "--warnings", "-l", str(page)], capture_output=True, text=True,
                         timeout=60, env={"MANWIDTH": "100", "PATH": "/usr/bin:/bin",
                                          "LANG": "C.UTF-8"})
    assert out.returncode == 0, out.stderr
    assert not out.stderr.strip(), out.stderr
    text = out.stdout
    assert "mailport user add" in text
    assert "metrics" in text


def test_build_generates_the_man_page_and_completion():
    generated = pathlib.Path(BIN).resolve().parents[2] / "generated"
    if not (generated / "mailport.1").exists():
        pytest.skip("not built from this checkout's build/ directory")
    assert (generated / "mailport.1").read_text() == run("man").stdout
    assert (generated / "mailport.bash-completion").read_text() == run("completion", "bash").stdout


def test_flags_do_not_complete_file_names():
    script = run("completion", "bash").stdout
    case = re.search(r"^    'check'\) words='[^']*' values='([^']*)'", script, re.M)
    values = case.group(1).split()
    assert "--cafile" in values
    assert "--json" not in values and "--help" not in values
