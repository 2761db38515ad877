// Print the text pdf.js gets from one page of a PDF, as its viewer's copy does:
// each text item's string, a line break where pdf.js marks the end of a line.
// Usage: node extract.mjs FILE.pdf PAGE_NUMBER
import { readFile } from "node:fs/promises";
import { getDocument } from "pdfjs-dist/legacy/build/pdf.mjs";

const [file, number] = process.argv.slice(2);
const data = new Uint8Array(await readFile(file));
const doc = await getDocument({ data, verbosity: 0, useSystemFonts: false }).promise;
const page = await doc.getPage(Number(number));
const content = await page.getTextContent();
process.stdout.write(content.items.map((item) => item.str + (item.hasEOL ? "\n" : "")).join(""));
await doc.destroy();
