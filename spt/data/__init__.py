"""Datasets: SyntheticPeople (the embedded default); DeepFashion / Market-1501 follow in fashion.py."""
