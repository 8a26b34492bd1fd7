"""Figures and the self-contained report.html."""
