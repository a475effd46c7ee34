"""What the Hugging Face hub can give us here, asked without downloading anything."""

from __future__ import annotations

import os


def offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "0").lower() in ("1", "true", "yes")


def unavailable_offline(repo_id: str, filename: str = "config.json", revision=None) -> bool:
    """True when the hub is off (HF_HUB_OFFLINE) and `repo_id` is not in the local cache; online,
    the hub decides when the weights load."""
    if not offline():
        return False
    from huggingface_hub import try_to_load_from_cache

    return not isinstance(try_to_load_from_cache(repo_id, filename, revision=revision), str)


def dataset_unavailable_offline(repo_id: str) -> bool:
    """True when the hub is off and the dataset repository `repo_id` left nothing in the local
    hub cache (its card is the one file every dataset repository has)."""
    if not offline():
        return False
    from huggingface_hub import try_to_load_from_cache

    cached = try_to_load_from_cache(repo_id, "README.md", repo_type="dataset")
    return not isinstance(cached, str)
