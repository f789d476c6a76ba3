"""`mismartera shell`: an interactive (or piped) prompt over a running session.

`ShellApp` holds the state and the command handlers, independent of any terminal;
`run_shell` drives it from a readline prompt or from piped input.
"""

from mismartera.shell.app import ShellApp
from mismartera.shell.terminal import run_shell

__all__ = ["ShellApp", "run_shell"]
