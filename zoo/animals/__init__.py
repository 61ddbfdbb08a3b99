"""Animals: who lives in which exhibit."""
