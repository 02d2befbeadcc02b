"""Printable reports of the clinic (PDF, drawn with fpdf2)."""
