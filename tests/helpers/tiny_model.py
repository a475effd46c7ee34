"""A tiny real Llama (2 layers, hidden 64) with a byte-level BPE tokenizer trained on the spot."""

from __future__ import annotations

from pathlib import Path

TINY_TEXT = (
    "The quick brown fox jumps over the lazy dog. A model that is pruned may say things it "
    "would not have said before. Safety is more than perplexity. "
) * 20


def build_tiny_model(folder: Path) -> Path:
    """A 2-layer Llama with a byte-level BPE tokenizer trained here: real classes, random init."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    specials = ["<unk>", "<s>", "</s>"]
    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=384,
        special_tokens=specials,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tok.train_from_iterator([TINY_TEXT], trainer=trainer)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        unk_token="<unk>",
        bos_token="<s>",
        eos_token="</s>",
        pad_token="</s>",
    )
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=512,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=False,
    )
    torch.manual_seed(0)
    model = LlamaForCausalLM(config)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def build_fixed_classifier(
    tokenizer_dir: Path, folder: Path, labels: list[str], probabilities: list[float]
) -> Path:
    """A tiny real BERT sequence classifier with `labels`, its head fixed so that it gives
    `probabilities` for any text (the scorers' loading, labels and thresholds, offline)."""
    import torch
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir)
    config = BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        pad_token_id=tokenizer.pad_token_id,
        id2label=dict(enumerate(labels)),
        label2id={label: i for i, label in enumerate(labels)},
    )
    classifier = BertForSequenceClassification(config)
    with torch.no_grad():
        classifier.classifier.weight.zero_()
        classifier.classifier.bias.copy_(torch.tensor(probabilities).log())
    classifier.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder
