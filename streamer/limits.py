"""CXone's documented limits, in one place: what one upload file, record and page may hold."""

#: One uploaded file holds at most this many records.
MAX_RECORDS_PER_FILE = 500_000
#: One uploaded file is at most this many bytes.
MAX_FILE_BYTES = 256 * 1024 * 1024
#: CSV bytes that stay within MAX_FILE_BYTES once base64 (4 bytes per 3) encodes them,
#: in case CXone counts the encoded upload rather than the decoded file.
MAX_CSV_BYTES = MAX_FILE_BYTES // 4 * 3
#: One record (one CSV line as uploaded) is at most this many characters.
MAX_RECORD_CHARS = 512
#: List endpoints page with skip/top; at most this many per page.
MAX_PAGE_SIZE = 100
