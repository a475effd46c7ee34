"""GGUF conversion: a converted tokenizer that splits text into characters is refused, and a
refused or failed conversion leaves nothing in the cache that looks like a model."""

from __future__ import annotations

import hashlib

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


def sentencepiece_gguf(path, model: str = "llama", space_prefix: bool = False):
    """A GGUF file holding only a SentencePiece vocabulary: characters, "Th" and "The" (by
    score, "Th" merges first), the four special pieces, one control piece and one
    user-defined piece (a blank line, as Gemma's)."""
    from gguf import GGUFWriter

    special = ["<pad>", "<eos>", "<bos>", "<unk>", "<start_of_turn>"]
    characters = sorted(set(gguf.PROBE.replace(" ", "▁")))
    pieces = [*special, "\n\n", *characters, "Th", "The"]
    writer = GGUFWriter(str(path), "llama")
    writer.add_tokenizer_model(model)
    writer.add_token_list(pieces)
    writer.add_token_scores([0.0] * 6 + [-1000.0] * len(characters) + [-1.0, -2.0])
    writer.add_token_types([3] * len(special) + [4] + [1] * (len(pieces) - 6))
    writer.add_bos_token_id(2)
    writer.add_eos_token_id(1)
    writer.add_unk_token_id(3)
    writer.add_pad_token_id(0)
    writer.add_add_bos_token(True)
    writer.add_add_space_prefix(space_prefix)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def test_a_sentencepiece_vocabulary_is_rebuilt_with_its_merges(tmp_path):
    """Gemma-3-270M's file: transformers' conversion split text into characters; rebuilt
    from the file's scores it reads 'The' whole (BOS first, control pieces kept whole)."""
    tokenizer = gguf.sentencepiece_bpe(sentencepiece_gguf(tmp_path / "spm.gguf"))
    assert tokenizer.tokenize("The cat") == ["The", "▁", "c", "a", "t"]
    ids = tokenizer("The<start_of_turn>")["input_ids"]
    assert tokenizer.convert_ids_to_tokens(ids) == ["<bos>", "The", "<start_of_turn>"]
    assert tokenizer.decode(ids, skip_special_tokens=True) == "The"
    assert not gguf.splits_into_characters(tokenizer)
    # a user-defined piece is text: lm-eval decodes generations without special pieces
    blank = tokenizer("The\n\nThe")["input_ids"]
    assert tokenizer.decode(blank, skip_special_tokens=True) == "The\n\nThe"


def test_a_vocabulary_that_adds_a_space_prefix_reads_the_first_word_as_the_others(tmp_path):
    file = sentencepiece_gguf(tmp_path / "spm.gguf", space_prefix=True)
    tokenizer = gguf.sentencepiece_bpe(file)
    assert tokenizer.tokenize("The") == ["▁", "The"]
    assert tokenizer.decode(tokenizer("The")["input_ids"], skip_special_tokens=True) == "The"


def test_a_file_that_cannot_be_converted_is_one_line(tmp_path):
    from omegaconf import OmegaConf

    from compsafe.models.loading import weights_location

    (tmp_path / "m.gguf").write_bytes(b"GGUF, cut short")
    cfg = OmegaConf.create({"path": str(tmp_path), "gguf_file": "m.gguf", "revision": None})
    with pytest.raises(ConfigError) as refused:
        weights_location(cfg, tmp_path / "cache")
    assert str(refused.value).startswith("model.gguf_file=m.gguf: could not be converted")
    assert not [p for p in (tmp_path / "cache").rglob("*") if p.is_file()]


def test_a_conversion_by_older_code_is_made_again(tmp_path, monkeypatch):
    """The tokenizer rebuild reaches files converted before it existed."""
    made = []

    def convert(_file, out_dir, _setting):
        out_dir.mkdir(parents=True)
        made.append(out_dir)

    monkeypatch.setattr(gguf, "_convert", convert)
    (tmp_path / "m.gguf").write_bytes(b"GGUF")
    target = tmp_path / "converted"
    target.mkdir()
    (target / gguf.COMPLETE_MARKER).write_text("ok\n")  # the marker before CONVERSION
    gguf.converted(tmp_path / "m.gguf", target, ("model.gguf_file", "m.gguf"))
    assert len(made) == 1 and gguf.is_complete(target)
    gguf.converted(tmp_path / "m.gguf", target, ("model.gguf_file", "m.gguf"))
    assert len(made) == 1


def test_a_conversion_keeps_its_files_digest_and_an_older_one_gets_it(tmp_path, monkeypatch):
    """The job records the GGUF file's SHA-256 (`model.sha256`), read from beside its
    conversion: the report matches a model to its labelled answers by it, wherever it lay."""
    monkeypatch.setattr(gguf, "_convert", lambda _f, out_dir, _s: out_dir.mkdir(parents=True))
    source = tmp_path / "m.gguf"
    source.write_bytes(b"GGUF weights")
    expected = hashlib.sha256(b"GGUF weights").hexdigest()
    made = gguf.converted(source, tmp_path / "new", ("model.gguf_file", "m.gguf"))
    assert gguf.source_digest(made) == expected
    older = tmp_path / "older"
    older.mkdir()
    (older / gguf.COMPLETE_MARKER).write_text(f"{gguf.CONVERSION}\n")  # before digests
    assert gguf.source_digest(older) is None
    gguf.converted(source, older, ("model.gguf_file", "m.gguf"))
    assert gguf.source_digest(older) == expected
    assert gguf.source_digest(tmp_path) is None  # not a conversion: nothing to record


def test_another_kind_of_vocabulary_is_not_rebuilt(tmp_path):
    assert gguf.sentencepiece_bpe(sentencepiece_gguf(tmp_path / "bpe.gguf", "gpt2")) is None
