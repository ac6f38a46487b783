"""Prefect flows and deployments. Thin: each task calls library functions."""
