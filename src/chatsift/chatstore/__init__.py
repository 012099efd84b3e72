"""The chat store: what ``chatsift serve`` writes (conversation snapshots, battles, votes, consents,
live sessions) in SQLite or PostgreSQL, its migrations, and its reading back as FastChat logs.

A package of its own, below both its writer (``serve``) and its readers (``curate`` through
``io.chat_store``, ``chatsift export``), so neither reaches into the other.
"""
