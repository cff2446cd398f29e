"""What the team's documents say: reading sources, chunking them, ingesting them, FAQ and glossary."""
