"""Models from the hub, a local folder, or a registry package; loaded once per process."""

from compsafe.models.loading import LoadedModel, check_model_config, load_model

__all__ = ["LoadedModel", "check_model_config", "load_model"]
