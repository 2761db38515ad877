"""The PDF/A-2b parts of the archival PDF: sRGB output intent and XMP metadata.

Why PDF/A-2b (ISO 19005-2, level B): the digitised copy must render the same in
decades, without the software that made it (TCVN 14159-1 recommends PDF/A).
Level B asks for what that needs: every colour tied to a known profile (an
sRGB output intent covers the scan's DeviceRGB/DeviceGray pixels and the mask
colours), every font embedded, XMP metadata that declares the conformance and
describes every custom property in an extension schema, no encryption and no
scripts or actions. PDF/A-2 is based on PDF 1.7, so object and xref streams and
incremental updates (the signature) are allowed; pyHanko signs the final file.

No Info dictionary is written: PDF/A requires its entries to equal their XMP
twins, and pyHanko's incremental update rewrites the Info ``/Producer`` in a
form its XMP ``pdf:Producer`` does not match. With XMP alone there is nothing
to disagree.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
import zlib
from collections.abc import Mapping
from datetime import UTC, datetime
from functools import lru_cache

from pikepdf import Array, Dictionary, Name, Pdf, Stream, String
from pikepdf.models import PdfMetadata
from PIL import ImageCms

from sohoa import SOFTWARE
from sohoa.errors import ConfigError

PDFA_PART = "2"
PDFA_CONFORMANCE = "B"
OUTPUT_CONDITION = "sRGB IEC61966-2.1"
XMP_NS = "https://sohoa.example/ns/1.0/"
XMP_PREFIX = "sohoa"
PROPERTY_DESCRIPTIONS = {
    "recordId": "Identifier of the digitised record",
    "batchId": "Identifier of the upload batch the record came from",
    "dossierCode": "Dossier code (ma ho so) of the record",
    "kind": "Kind of digitisation: thanh-phan (dossier component) or ket-qua (result)",
    "unit": "Code of the administrative unit that digitised the record",
    "pageCount": "Number of paper pages in the record",
    "software": "Name and version of the software that built the file",
    "version": "Version of the record (1 as archived; one more per page added or replaced)",
}
"""Known ``sohoa:`` properties; any other key is declared with a generic description."""

_RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
_EXT = "http://www.aiim.org/pdfa/ns/extension/"
_SCHEMA = "http://www.aiim.org/pdfa/ns/schema#"
_PROPERTY = "http://www.aiim.org/pdfa/ns/property#"
_XML_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")


ICC_DATE = bytes.fromhex("07e800010001000000000000")
"""2024-01-01 00:00:00, written as the profile's creation date (bytes 24-35 of its header)."""


@lru_cache(maxsize=1)
def srgb_profile() -> bytes:
    """An sRGB ICC profile, made by LittleCMS through Pillow (no data file to ship).

    LittleCMS stamps the current time into the header; a fixed date makes the
    profile, and so every archival PDF's output intent, the same bytes every
    time. The profile ID (MD5, bytes 84-99) is left unset by LittleCMS, so
    nothing else depends on the date.
    """
    icc = bytearray(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())
    if any(icc[84:100]):  # an ID would cover the date: keep the profile as made
        return bytes(icc)
    icc[24:36] = ICC_DATE
    return bytes(icc)


def _profile_stream(pdf: Pdf, icc: bytes) -> Stream:
    """The profile Flate-compressed, or raw if the compressed bytes end in CR or LF.

    Why: qpdf writes one LF before ``endstream``; data ending in CR would look
    like a CR-LF marker and make validators read /Length as one byte too long.
    """
    packed = zlib.compress(icc, 9)
    if packed[-1:] not in (b"\r", b"\n"):
        return Stream(pdf, packed, Filter=Name.FlateDecode, N=3)
    return Stream(pdf, icc, N=3)


def add_srgb_output_intent(pdf: Pdf) -> None:
    """Declare sRGB as the document's output intent (``/GTS_PDFA1``).

    Why: PDF/A allows the scan's device colour spaces (DeviceRGB, DeviceGray)
    only when an output intent says which colours they mean.
    """
    profile = _profile_stream(pdf, srgb_profile())
    intent = Dictionary(
        Type=Name.OutputIntent,
        S=Name.GTS_PDFA1,
        OutputConditionIdentifier=String(OUTPUT_CONDITION),
        Info=String(OUTPUT_CONDITION),
        DestOutputProfile=profile,
    )
    pdf.Root.OutputIntents = Array([pdf.make_indirect(intent)])


def _extension_schema_packet(keys: list[str]) -> bytes:
    """An XMP packet holding only the PDF/A extension schema of the ``sohoa:`` properties.

    PDF/A accepts custom XMP properties only when the packet itself describes
    them (ISO 19005-2, 6.6.2.3.2); pikepdf then adds the values around it.
    """
    for prefix, uri in (("rdf", _RDF), ("pdfaExtension", _EXT)):
        ET.register_namespace(prefix, uri)
    ET.register_namespace("pdfaSchema", _SCHEMA)
    ET.register_namespace("pdfaProperty", _PROPERTY)
    ET.register_namespace("x", "adobe:ns:meta/")
    meta = ET.Element("{adobe:ns:meta/}xmpmeta")
    rdf = ET.SubElement(meta, f"{{{_RDF}}}RDF")
    desc = ET.SubElement(rdf, f"{{{_RDF}}}Description", {f"{{{_RDF}}}about": ""})
    bag = ET.SubElement(ET.SubElement(desc, f"{{{_EXT}}}schemas"), f"{{{_RDF}}}Bag")
    schema = ET.SubElement(bag, f"{{{_RDF}}}li", {f"{{{_RDF}}}parseType": "Resource"})
    for name, text in (
        ("schema", "sohoa digitised record"),
        ("namespaceURI", XMP_NS),
        ("prefix", XMP_PREFIX),
    ):
        ET.SubElement(schema, f"{{{_SCHEMA}}}{name}").text = text
    seq = ET.SubElement(ET.SubElement(schema, f"{{{_SCHEMA}}}property"), f"{{{_RDF}}}Seq")
    for key in keys:
        item = ET.SubElement(seq, f"{{{_RDF}}}li", {f"{{{_RDF}}}parseType": "Resource"})
        description = PROPERTY_DESCRIPTIONS.get(key, "Record property set by sohoa")
        for name, text in (
            ("name", key),
            ("valueType", "Text"),
            ("category", "external"),
            ("description", description),
        ):
            ET.SubElement(item, f"{{{_PROPERTY}}}{name}").text = text
    body = ET.tostring(meta, encoding="unicode")
    packet = f'<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n{body}\n'
    return (packet + '<?xpacket end="w"?>').encode("utf-8")


def write_xmp(pdf: Pdf, properties: Mapping[str, str], *, title: str) -> None:
    """Write the document's XMP: PDF/A-2b identification, Dublin Core, dates, record properties.

    Args:
        pdf: the document; its catalog gets a new ``/Metadata`` stream.
        properties: ``sohoa:`` properties (record identity, no personal data).
        title: ``dc:title``.

    Raises:
        ConfigError: a property name is not a valid XML name.
    """
    bad = [key for key in properties if not _XML_NAME.match(key)]
    if bad:
        raise ConfigError(reason=f"invalid XMP property name(s): {', '.join(bad)}")
    pdf.Root.Metadata = pdf.make_stream(
        _extension_schema_packet(list(properties)), Type=Name.Metadata, Subtype=Name.XML
    )
    PdfMetadata.register_xml_namespace(XMP_NS, XMP_PREFIX)
    now = datetime.now(UTC).isoformat(timespec="seconds")
    with pdf.open_metadata(set_pikepdf_as_editor=False, update_docinfo=False) as meta:
        meta["pdfaid:part"] = PDFA_PART
        meta["pdfaid:conformance"] = PDFA_CONFORMANCE
        meta["dc:title"] = title
        meta["dc:format"] = "application/pdf"
        meta["xmp:CreatorTool"] = SOFTWARE
        meta["xmp:CreateDate"] = now
        meta["xmp:ModifyDate"] = now
        meta["xmp:MetadataDate"] = now
        meta["pdf:Producer"] = SOFTWARE
        for key, value in properties.items():
            meta[f"{XMP_PREFIX}:{key}"] = str(value)
    if Name.Info in pdf.trailer:
        del pdf.trailer.Info
