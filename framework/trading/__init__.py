"""Simulated trading: orders, the fill rule, costs, the broker, the portfolio, statistics."""
