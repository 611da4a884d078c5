"""Sequence recommenders (text-aware transformer, most-popular), their training and leave-one-out evaluation."""
