"""Excel host code: the only package (with udfs.py) that imports xlwings."""
