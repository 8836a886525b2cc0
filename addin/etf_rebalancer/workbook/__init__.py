"""Template workbooks (XlsxWriter) and the workbook reader (openpyxl)."""
