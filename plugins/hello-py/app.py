"""hello-py: a wasmqq plugin written in Python, built with componentize-py.

It targets the same WIT world as the Rust plugins
(`plugin-api/wit/since_v0.1.0`, world `plugin`) and implements its export
interface `guest` as the class `Guest` below. Build it with `make plugins`
(or `wasmqq plugin build plugins/hello-py`); the component is
`target/wasm32-wasip2/release/hello_py.wasm`.

Commands:
  !hello [NAME]  greet NAME (or the sender) and count greetings (kv)
  !pyversion     which Python runs inside the sandbox
"""

import sys

from componentize_py_types import Err
from wit_world import exports
from wit_world.imports import kv, log
from wit_world.imports.types import (
    Action,
    Action_Reply,
    Capability,
    CommandCall,
    CommandSpec,
    HostError_NotGranted,
    Message,
    PluginInfo,
    Segment_Text,
    TimerEvent,
)


def reply(text: str) -> Action:
    """A plain-text reply in the chat the command came from."""
    return Action_Reply([Segment_Text(text)])


def count_greeting() -> str:
    """Add one to the greeting counter; say how many so far.

    kv is optional: without the grant the plugin still greets, and says why
    it cannot count.
    """
    try:
        raw = kv.get("greetings")
        n = int(raw.decode()) + 1 if raw else 1
        kv.set("greetings", str(n).encode())
        return f"greeting #{n}"
    except Err as e:
        if isinstance(e.value, HostError_NotGranted):
            return "not counting: kv is not granted"
        log.write(log.Level.WARN, f"kv failed: {e.value}")
        return "not counting: storage unavailable"


class Guest(exports.Guest):
    """The `guest` export: one instance, called one event at a time."""

    def describe(self) -> PluginInfo:
        return PluginInfo(
            name="hello-py",
            version="0.1.0",
            description="Greetings from a Python plugin",
            commands=[
                CommandSpec(name="hello", aliases=["hi"], usage="[NAME]", help="greet NAME or you"),
                CommandSpec(name="pyversion", aliases=[], usage="", help="the Python inside the plugin"),
            ],
            triggers=[],
            capabilities=[Capability.KV],
        )

    def init(self, config: str) -> None:
        # `config` is a JSON object; raising Err(text) refuses the plugin.
        log.write(log.Level.DEBUG, f"hello-py ready, config {config}")

    def on_command(self, call: CommandCall) -> list[Action]:
        if call.name == "hello":
            who = call.raw_args or call.message.sender_name
            return [reply(f"Hello, {who}! ({count_greeting()}, from Python)")]
        if call.name == "pyversion":
            v = sys.version_info
            return [reply(f"Python {v.major}.{v.minor}.{v.micro} on {sys.platform}")]
        return []

    def on_message(self, msg: Message) -> list[Action]:
        return []

    def on_timer(self, timer: TimerEvent) -> list[Action]:
        return []
