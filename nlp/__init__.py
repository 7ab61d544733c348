"""Text analysis: cleaning, tokenizing, keywords, sentiment and near-duplicate detection."""
