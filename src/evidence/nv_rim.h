/* The XML side of RIMs shared by the reader (nv_rim.c) and the signature check
 * (nv_rimsig.c): one strict parse. Internal header. */
#ifndef GTEE_EVIDENCE_NV_RIM_H
#define GTEE_EVIDENCE_NV_RIM_H

#include <libxml/tree.h>

#include "gtee/nvidia.h"

/* Parses xml with no DTD, no entities, no network; GTEE_EFORMAT naming the line. */
int nv_xml_read(const uint8_t *xml, size_t len, xmlDoc **doc, struct gtee_err *err);
/* Reads a parsed RIM (gtee_nv_rim_read without the parse). */
int nv_rim_read_doc(xmlDoc *doc, struct gtee_nv_rim *rim, struct gtee_err *err);

#endif
