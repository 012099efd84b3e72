"""Hard benchmark prompts from real traffic (use case D): score prompts with LLM raters, select the hardest."""
