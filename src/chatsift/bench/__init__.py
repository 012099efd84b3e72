"""Benchmarks in Arena-Hard-Auto's layout: questions, model answers, judgments (pairwise and graded)."""
