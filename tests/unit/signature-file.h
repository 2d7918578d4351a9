/* The frame of a DROID signature file, for unit tests that write their own:
 * SIG_HEAD, the InternalSignature elements, SIG_MID, the FileFormat
 * elements, SIG_TAIL. */
#ifndef KIST_TEST_SIGNATURE_FILE_H
#define KIST_TEST_SIGNATURE_FILE_H

#define SIG_HEAD                                                                                  \
	"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"                                            \
	"<FFSignatureFile DateCreated=\"2026-01-01T00:00:00\" Version=\"7\" "                    \
	"xmlns=\"http://www.nationalarchives.gov.uk/pronom/SignatureFile\">\n"                    \
	"<InternalSignatureCollection>\n"
#define SIG_MID "</InternalSignatureCollection>\n<FileFormatCollection>\n"
#define SIG_TAIL "</FileFormatCollection>\n</FFSignatureFile>\n"

#endif
