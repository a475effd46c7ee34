"""A tokenizer with one token per word: token windows and counts checkable by hand."""

from __future__ import annotations


class WordTokenizer:
    """One token per word, plus a BOS when asked (as HFLM encodes): windows checkable by hand."""

    BOS = -1

    def __init__(self) -> None:
        self.vocab: dict[str, int] = {}

    def encode(self, text: str, add_special_tokens: bool = True) -> list[int]:
        ids = [self.vocab.setdefault(word, len(self.vocab)) for word in text.split()]
        return [self.BOS, *ids] if add_special_tokens else ids

    def __call__(self, text: str, add_special_tokens: bool = True) -> dict[str, list[int]]:
        return {"input_ids": self.encode(text, add_special_tokens)}

    def decode(self, ids: list[int]) -> str:
        words = {i: word for word, i in self.vocab.items()}
        return " ".join(words[i] for i in ids)
