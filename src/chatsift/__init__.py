"""chatsift: turn real-world LLM chat logs into curated, privacy-safe datasets and insights."""

__version__ = "0.1.0"
