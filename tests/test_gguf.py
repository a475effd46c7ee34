"""GGUF conversion: a converted tokenizer that splits text into characters is refused, and a
refused or failed conversion leaves nothing in the cache that looks like a model."""

from __future__ import annotations

import pytest

from compsafe.errors import ConfigError
from compsafe.models import gguf


def character_tokenizer():
    """What transformers made of Gemma-3-270M's GGUF vocabulary: BPE pieces, no merges."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    alphabet = sorted(set(gguf.PROBE.replace(" ", "")) | {"▁", "<unk>"})
    vocab = {piece: i for i, piece in enumerate([*alphabet, "▁capital", "The"])}
    tok = Tokenizer(models.BPE(vocab=vocab, merges=[], unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    return PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="<unk>")


def test_a_tokenizer_that_splits_text_into_characters_is_refused():
    with pytest.raises(ConfigError) as refused:
        gguf.check_tokenizer(character_tokenizer(), ("model.gguf_file", "m.gguf"))
    assert refused.value.key == "model.gguf_file"
    assert "single characters" in str(refused.value)


def test_a_subword_tokenizer_passes(tiny_model):
    gguf.check_tokenizer(tiny_model[1], ("model.gguf_file", "m.gguf"))


def test_a_refused_conversion_leaves_nothing_behind(tmp_path, monkeypatch):
    def refuse(_file, out_dir, setting):
        out_dir.mkdir(parents=True)
        (out_dir / "model.safetensors").write_bytes(b"half")
        raise ConfigError(*setting, "refused")

    monkeypatch.setattr(gguf, "_convert", refuse)
    source = tmp_path / "m.gguf"
    source.write_bytes(b"GGUF")
    with pytest.raises(ConfigError):
        gguf.file_checkpoint(source, tmp_path / "cache")
    assert not list((tmp_path / "cache" / "models" / "gguf").iterdir())
