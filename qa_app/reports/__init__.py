"""Printable documents drawn with reportlab: labels, certificates and charts."""
