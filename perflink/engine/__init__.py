"""The calculation engine: pure, columnar, no Django imports."""
