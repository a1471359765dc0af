"""The demo's agent: a ReAct-style LangGraph ``StateGraph`` driven by a scripted chat model.

``messages: Annotated[list, add_messages]`` state; an ``agent`` node driven by
:class:`ScriptedChatModel` (a deterministic langchain-core chat model that calls a tool on every
question, then answers from the tool's result), a ``langgraph.prebuilt.ToolNode`` with
:func:`calculator` and :func:`lookup_docs`, routed by ``tools_condition``. No network.

``demo.py`` (``make demo``) runs it on SQLite; ``benches/e2e.py`` and ``benches/loads_memo.py``
import :func:`build_graph` and :func:`question` (with this directory on ``sys.path``).
Needs ``langgraph`` and ``langchain-core`` (requirements-dev.txt).
"""

from __future__ import annotations

import json
import operator
import random
import re
from collections.abc import Callable, Sequence
from typing import Annotated, Any, Literal

from langchain_core.language_models import LanguageModelInput
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, AnyMessage, BaseMessage, SystemMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.tools import tool
from langchain_core.utils.function_calling import convert_to_openai_tool
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import START, StateGraph
from langgraph.graph.message import add_messages
from langgraph.graph.state import CompiledStateGraph
from langgraph.prebuilt import ToolNode, tools_condition
from typing_extensions import TypedDict

__all__ = [
    "AgentState",
    "ScriptedChatModel",
    "TOOLS",
    "build_graph",
    "calculator",
    "lookup_docs",
    "question",
]

_SYSTEM_PROMPT = (
    "You are a support agent for an internal platform. Look facts up with "
    "lookup_docs and do arithmetic with calculator before you answer."
)

_OPERATORS: dict[str, Callable[[float, float], float]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
}

# A tiny knowledge base for lookup_docs: topic -> (title, passages).
_DOCS: dict[str, tuple[str, tuple[str, ...]]] = {
    "checkpoints": (
        "Checkpointing agent threads",
        (
            "Every superstep of a graph writes a checkpoint: the channel values, "
            "their versions and the versions each node has seen.",
            "Checkpoints of one thread form a chain through parent ids, so a "
            "thread can be resumed, replayed or forked from any of them.",
        ),
    ),
    "retention": (
        "Retention of old checkpoints",
        (
            "Threads idle for 30 days are archived; their checkpoints move to cold "
            "storage and are restored on the next request to the thread.",
            "Deleting a thread removes its checkpoints and pending writes at once.",
        ),
    ),
    "rate limits": (
        "Gateway rate limits",
        (
            "Each API key may send 600 requests per minute with bursts of 50; "
            "excess requests get HTTP 429 with a Retry-After header.",
            "Batch endpoints count one request per item in the batch.",
        ),
    ),
    "failover": (
        "Database failover runbook",
        (
            "On primary loss the replica with the smallest replication lag is "
            "promoted; writes pause for 10 to 30 seconds during promotion.",
            "Clients must retry idempotent writes after a failover.",
        ),
    ),
    "deploys": (
        "Deploy windows",
        (
            "Deploys run Monday to Thursday between 09:00 and 16:00 UTC behind a "
            "canary that takes 5 % of traffic for 20 minutes.",
            "A failed canary rolls back automatically and pages the owner.",
        ),
    ),
    "tracing": (
        "Request tracing",
        (
            "One request in a hundred is traced end to end; errors are always "
            "traced. Traces are kept for 14 days.",
            "Add the x-trace header to force tracing of a single request.",
        ),
    ),
}

_ARITHMETIC = re.compile(r"What is (-?\d+(?:\.\d+)?) ([-+*/]) (-?\d+(?:\.\d+)?)\?")
_LOOKUP = re.compile(r"about (.+?)\?")


@tool
def calculator(a: float, op: Literal["+", "-", "*", "/"], b: float) -> str:
    """Compute ``a op b`` for one of the operators + - * /; returns the result as text."""
    try:
        return repr(_OPERATORS[op](a, b))
    except ZeroDivisionError:
        return "error: division by zero"


@tool
def lookup_docs(topic: str) -> str:
    """Look a topic up in the internal documentation; returns a few hundred bytes of text."""
    key = topic.lower().strip()
    if key not in _DOCS:
        return f"No documents match {topic!r}. Known topics: {', '.join(_DOCS)}."
    title, passages = _DOCS[key]
    slug = key.replace(" ", "-")
    lines = [f"{title} (https://docs.example.com/{slug})"]
    lines += [f"[{i}] {passage}" for i, passage in enumerate(passages, 1)]
    return "\n".join(lines)


TOOLS = (calculator, lookup_docs)


class ScriptedChatModel(BaseChatModel):
    """A deterministic tool-calling chat model for demos and tests (no network).

    Reading only the last message: a ``HumanMessage`` of the form
    ``"What is <a> <op> <b>?"`` gets an ``AIMessage`` calling ``calculator``;
    any other question gets one calling ``lookup_docs`` with the text after
    ``"about "``; a ``ToolMessage`` gets a final ``AIMessage`` answer quoting
    the tool's result. Every ``AIMessage`` carries ``usage_metadata`` and
    ``response_metadata`` (token counts estimated as characters / 4).

    Use ``bind_tools`` like with a real model; the model only calls tools
    that were bound. Raises ``ValueError`` from ``invoke`` if the needed tool
    is not bound.
    """

    model_name: str = "scripted-react-1"

    @property
    def _llm_type(self) -> str:
        return "scripted-react"

    def bind_tools(
        self, tools: Sequence[Any], *, tool_choice: str | None = None, **kwargs: Any
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """Bind tools (anything ``convert_to_openai_tool`` accepts); returns a Runnable."""
        return self.bind(tools=[convert_to_openai_tool(t) for t in tools], **kwargs)

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: Any = None,
        **kwargs: Any,
    ) -> ChatResult:
        bound = {spec["function"]["name"] for spec in kwargs.get("tools", ())}
        last = messages[-1]
        if isinstance(last, ToolMessage):
            content = _answer(last)
            tool_calls: list[dict[str, Any]] = []
        else:
            name, args = _plan_tool_call(str(last.content))
            if name not in bound:
                raise ValueError(f"tool {name!r} is not bound; bound tools: {sorted(bound)}")
            content = f"Calling {name}."
            tool_calls = [
                {"name": name, "args": args, "id": f"call_{len(messages):06d}", "type": "tool_call"}
            ]
        prompt_tokens = sum(len(str(m.content)) for m in messages) // 4
        completion_tokens = max(1, (len(content) + len(json.dumps(tool_calls))) // 4)
        finish_reason = "tool_calls" if tool_calls else "stop"
        message = AIMessage(
            content=content,
            tool_calls=tool_calls,
            usage_metadata={
                "input_tokens": prompt_tokens,
                "output_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
            response_metadata={
                "model_name": self.model_name,
                "finish_reason": finish_reason,
                "token_usage": {
                    "prompt_tokens": prompt_tokens,
                    "completion_tokens": completion_tokens,
                    "total_tokens": prompt_tokens + completion_tokens,
                },
            },
        )
        return ChatResult(generations=[ChatGeneration(message=message)])


def _plan_tool_call(text: str) -> tuple[str, dict[str, Any]]:
    if match := _ARITHMETIC.search(text):
        return "calculator", {"a": float(match[1]), "op": match[2], "b": float(match[3])}
    match = _LOOKUP.search(text)
    return "lookup_docs", {"topic": match[1] if match else text}


def _answer(result: ToolMessage) -> str:
    if result.name == "calculator":
        return f"The result is {result.content}."
    title, *passages = str(result.content).splitlines()
    return f"From {title}: {' '.join(passages)}"


def question(turn: int) -> str:
    """The human message of turn ``turn`` (0-based): deterministic, alternating
    between documentation lookups (even turns) and arithmetic (odd turns)."""
    rng = random.Random(turn)
    if turn % 2 == 0:
        return f"Can you tell me what the docs say about {rng.choice(list(_DOCS))}?"
    a, b = rng.randrange(2, 10_000), rng.randrange(1, 500)
    return f"What is {a} {rng.choice(list(_OPERATORS))} {b}?"


class AgentState(TypedDict):
    """The graph state: the conversation, merged by ``add_messages``."""

    messages: Annotated[list[AnyMessage], add_messages]


def build_graph(
    checkpointer: BaseCheckpointSaver, state: type[Any] = AgentState
) -> CompiledStateGraph:
    """Compile the demo agent (agent -> tools -> agent ..., ``tools_condition``
    routing) with ``checkpointer``. ``state``: the graph's state class, a TypedDict with a
    ``messages`` key (default :class:`AgentState`; benches/storage.py passes one whose
    ``messages`` is a ``DeltaChannel``)."""
    model = ScriptedChatModel().bind_tools(TOOLS)

    # Not annotated with a state class: LangGraph would read the node's input schema from it.
    def agent(state: dict[str, Any]) -> dict[str, list[AnyMessage]]:
        return {"messages": [model.invoke([SystemMessage(_SYSTEM_PROMPT), *state["messages"]])]}

    builder = StateGraph(state)
    builder.add_node("agent", agent)
    builder.add_node("tools", ToolNode(TOOLS))
    builder.add_edge(START, "agent")
    builder.add_conditional_edges("agent", tools_condition)
    builder.add_edge("tools", "agent")
    return builder.compile(checkpointer=checkpointer)
