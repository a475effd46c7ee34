"""How a request reaches the model: inside its chat template (with the system prompt asked for,
or the template's own), or raw when the user opts in; and whether it fits in its context.

A base model without a chat template only continues a request's text, and a continuation is
not compliance: the refusal tasks refuse such a model unless `chat_template: off` says the raw
request is what the user wants measured.
"""

# No `from __future__ import annotations`: lm-eval may execute task modules outside the
# package, where dataclasses cannot resolve string annotations.

from collections.abc import Callable
from dataclasses import dataclass

from compsafe.errors import ConfigError

MODES = ("auto", "on", "off")
_SYSTEM, _USER = "\x00SYSTEM\x00", "\x00USER\x00"


@dataclass(frozen=True)
class ChatFormat:
    """`name`: chat_template | raw; `system_prompt`: the system prompt in use, verbatim ("" for
    none); `render`: request -> the text the model reads; `tokenizer`: None for raw."""

    name: str
    system_prompt: str
    render: Callable[[str], str]
    tokenizer: object | None = None


def chat_format(
    tokenizer_path: str | None, mode: str, system_prompt: str | None, key: str
) -> ChatFormat:
    """The format of a task's prompts. `system_prompt` None keeps the template's own default
    (recorded as the template writes it)."""
    if not tokenizer_path:
        return ChatFormat("raw", "", lambda text: text)
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tokenizer_path)
    if mode == "off":
        return ChatFormat("raw", "", lambda text: text, tokenizer)
    if not getattr(tokenizer, "chat_template", None):
        raise ConfigError(
            f"{key}.chat_template",
            mode,
            f"{tokenizer_path} has no chat template: a base model continuing a request is not "
            "compliance; give options.chat_template=off to send raw requests anyway",
        )

    def render(text: str) -> str:
        messages = [{"role": "user", "content": text}]
        if system_prompt is not None:
            messages.insert(0, {"role": "system", "content": system_prompt})
        return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)

    used = system_prompt if system_prompt is not None else default_system_prompt(tokenizer)
    return ChatFormat("chat_template", used, render, tokenizer)


def default_system_prompt(tokenizer) -> str:
    """The system prompt a chat template inserts when given none ("" when it inserts none):
    where a given system message's text would stand, read in a rendering without one."""

    def rendered(messages):
        return tokenizer.apply_chat_template(messages, tokenize=False)

    try:
        with_system = rendered([{"role": "system", "content": _SYSTEM}, user := _user()])
        without = rendered([user])
    except Exception:  # a template that rejects system messages has no default either
        return ""
    before, _, after = with_system.partition(_SYSTEM)
    after = after.split(_USER)[0]
    user_turn = without.rfind(_USER)
    head = without[:user_turn]
    if before and head.startswith(before):
        body = head[len(before) :]
        end = body.rfind(after) if after else len(body)
        return body[:end] if end >= 0 else body
    return ""


def _user() -> dict:
    return {"role": "user", "content": _USER}


def check_context(
    fmt: ChatFormat, prompts: list[str], max_new_tokens: int, context: int | None, key: str
) -> None:
    """Every prompt plus `max_new_tokens` must fit in the model's context (lm-eval would cut
    the prompt's start silently): a one-line error naming the longest, before generation."""
    if fmt.tokenizer is None or not context or not prompts:
        return
    lengths = [len(ids) for ids in fmt.tokenizer(prompts, add_special_tokens=False).input_ids]
    longest = max(range(len(prompts)), key=lengths.__getitem__)
    if lengths[longest] + max_new_tokens > context:
        raise ConfigError(
            f"{key}.max_new_tokens",
            max_new_tokens,
            f"a prompt of {lengths[longest]} tokens plus {max_new_tokens} new tokens exceeds the "
            f"model's context of {context} (prompt {longest + 1}); lower max_new_tokens or "
            "drop the long attack",
        )


def model_context(tokenizer_path: str | None, given: int | None) -> int | None:
    """The context the evaluation runs with: `model.max_length` when the harness passes it,
    else the model's own (its config's `max_position_embeddings`)."""
    if given:
        return int(given)
    if not tokenizer_path:
        return None
    from transformers import AutoConfig

    try:
        config = AutoConfig.from_pretrained(tokenizer_path)
    except (OSError, ValueError):
        return None
    return getattr(config, "max_position_embeddings", None)
