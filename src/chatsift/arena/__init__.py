"""Rankings from pairwise comparisons and grades: Bradley–Terry, Elo, bootstrap intervals, benchmark quality."""
