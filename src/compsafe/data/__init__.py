"""Text and benchmark data: hub datasets for real runs, registry-packaged files offline."""
