"""Prompts to token ids and token ids to text, with or without a tokenizer."""

from __future__ import annotations


def encode_prompt(tokenizer, prompt, chat: bool = True) -> list[int]:
    """Token ids the target sees for ``prompt``.

    A string gets the tokenizer's chat template (a user turn plus the assistant header) when
    ``chat`` is true and the tokenizer has one, else plain encoding. A list of ints is used as is.
    """
    if isinstance(prompt, str):
        if not prompt.strip():
            raise ValueError("the prompt is empty: give some text (or a non-empty list of token ids)")
        if tokenizer is None:
            raise ValueError("this model pair has no tokenizer, so the prompt must be a list of "
                             "token ids, not a string")
        if chat and getattr(tokenizer, "chat_template", None):
            text = tokenizer.apply_chat_template([{"role": "user", "content": prompt}],
                                                 add_generation_prompt=True, tokenize=False)
            return tokenizer.encode(text, add_special_tokens=False)
        return tokenizer.encode(prompt)
    ids = list(prompt)
    if not ids:
        raise ValueError("the prompt is empty: give some text (or a non-empty list of token ids)")
    if not all(isinstance(i, int) and i >= 0 for i in ids):
        raise ValueError("a token-id prompt must be a list of non-negative ints")
    return [int(i) for i in ids]


def token_texts(tokenizer, ids: list[int]) -> list[str]:
    """The text of each token on its own (``str(id)`` without a tokenizer)."""
    if tokenizer is None:
        return [str(i) for i in ids]
    return [tokenizer.decode([i]) for i in ids]


def decode(tokenizer, ids: list[int]) -> str:
    if tokenizer is None:
        return " ".join(str(i) for i in ids)
    return tokenizer.decode(ids, skip_special_tokens=True)


def eos_ids(model, tokenizer=None) -> set[int]:
    """Every token id that ends generation for this model."""
    found = set()
    for source in (getattr(model, "generation_config", None), getattr(model, "config", None)):
        eos = getattr(source, "eos_token_id", None)
        if isinstance(eos, int):
            found.add(eos)
        elif eos:
            found.update(int(e) for e in eos)
    if tokenizer is not None and tokenizer.eos_token_id is not None:
        found.add(int(tokenizer.eos_token_id))
    return found
