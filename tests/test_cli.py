"""The one ``lindae`` command: every layer's sub-commands, usage errors in one line (exit 2), bugs with their
traceback (exit 70, never folded into a usage error)."""
import pytest

from lindae import cli
from lindae.derivations.commandline import EXIT_BUG
from lindae.dynamics import cli as dynamics_cli

COMMANDS = {"check", "latex", "mutate", "list", "figures", "strength", "fetch", "run", "sweep", "study", "generalisation", "sgd", "spectrum",
            "reproduce"}


def test_every_sub_command_is_there_with_help(capsys):
    actions = [a for a in cli.build_parser()._actions if a.dest == "command"]
    assert set(actions[0].choices) == COMMANDS
    for command in sorted(COMMANDS):
        with pytest.raises(SystemExit) as info:
            cli.main([command, "--help"])
        assert info.value.code == 0 and "usage: lindae " + command in capsys.readouterr().out


def test_bad_usage_is_one_line_and_exit_2(capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["strength", "--lam", "1"])
    err = capsys.readouterr().err
    assert info.value.code == 2 and len(err.strip().splitlines()) == 1 and "required" in err


def test_an_invalid_value_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["strength", "--lam", "-1", "--a0", "0.1", "--b0", "0.1"])
    err = capsys.readouterr().err
    assert info.value.code == 2 and err.startswith("lindae: error: lam must be >= 0") and len(err.splitlines()) == 1


def test_a_bug_is_shown_as_a_bug(monkeypatch, capsys):
    def broken(args, prog):
        raise ValueError("an internal mistake")        # a plain ValueError from a bug, not an InvalidArgument
    monkeypatch.setattr(dynamics_cli, "run", broken)
    assert cli.main(["strength", "--lam", "1", "--a0", "0.1", "--b0", "0.1"]) == EXIT_BUG
    err = capsys.readouterr().err
    assert "Traceback" in err and "an internal mistake" in err and "a bug in lindae" in err


def test_version(capsys):
    import lindae
    with pytest.raises(SystemExit) as info:
        cli.main(["--version"])
    assert info.value.code == 0 and capsys.readouterr().out.strip() == f"lindae {lindae.__version__}"
