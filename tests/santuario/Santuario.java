// Apache Santuario (xml-security, Debian's libxml-security-java) as an oracle for the emrex-rs
// tests: the XML-Signature library the Java SMP, the Finnish NCP and the DC4EU gateway use.
//
// It reads jobs from standard input, one per line, fields separated by TABs, and answers each
// with one line: "OK" or "FAIL <reason>".
//
//   verify <document> <certificate.pem>
//       Verifies the document's one enveloped ds:Signature with secure validation on, against
//       the public key of the given certificate only (KeyInfo is never used to choose the key),
//       and requires exactly one Reference with URI="".
//   bench-verify <document> <certificate.pem> <seconds>
//       Times verify (as above, secure validation on, parsing included) of the document's bytes,
//       read once into memory, against the certificate's key, loaded once: a warm-up of <seconds>
//       (the JIT), then iterations until <seconds> have passed (at least 5). Answers
//       "OK <median nanoseconds per verification> <iterations>". Used by scripts/bench.sh.
//   sign <document> <key.pem (PKCS#8)> <certificate.pem> <rsa|ecdsa> <inclusive|exclusive> <out>
//       Appends an enveloped signature (SHA-256; transforms: enveloped-signature, then the
//       canonicalization) to the root and writes the document, with KeyInfo/X509Data.
//
// Documents are parsed namespace-aware with DOCTYPEs refused. Compiled by the tests with javac
// against /usr/share/java (no build tool, no download).

import java.io.BufferedReader;
import java.io.ByteArrayInputStream;
import java.io.FileOutputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.Base64;

import javax.xml.XMLConstants;
import javax.xml.parsers.DocumentBuilderFactory;
import javax.xml.transform.OutputKeys;
import javax.xml.transform.Transformer;
import javax.xml.transform.TransformerFactory;
import javax.xml.transform.dom.DOMSource;
import javax.xml.transform.stream.StreamResult;

import org.apache.xml.security.Init;
import org.apache.xml.security.algorithms.MessageDigestAlgorithm;
import org.apache.xml.security.c14n.Canonicalizer;
import org.apache.xml.security.signature.Reference;
import org.apache.xml.security.signature.SignedInfo;
import org.apache.xml.security.signature.XMLSignature;
import org.apache.xml.security.transforms.Transforms;
import org.apache.xml.security.utils.Constants;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;

public final class Santuario {
    public static void main(String[] args) throws Exception {
        Init.init();
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        String line;
        while ((line = in.readLine()) != null) {
            if (line.isEmpty()) {
                continue;
            }
            String[] f = line.split("\t", -1);
            String answer;
            try {
                switch (f[0]) {
                    case "verify":
                        answer = verify(f[1], f[2]);
                        break;
                    case "bench-verify":
                        answer = benchVerify(f[1], f[2], Double.parseDouble(f[3]));
                        break;
                    case "sign":
                        sign(f[1], f[2], f[3], f[4], f[5], f[6]);
                        answer = "OK";
                        break;
                    default:
                        answer = "FAIL unknown job " + f[0];
                }
            } catch (Exception e) {
                answer = "FAIL " + e.getClass().getSimpleName() + ": " + e.getMessage();
            }
            System.out.println(answer.replace('\n', ' ').replace('\r', ' '));
            System.out.flush();
        }
    }

    private static Document parse(String path) throws Exception {
        return parseBytes(Files.readAllBytes(Paths.get(path)));
    }

    // One factory per JVM (the lookup is costly and not part of parsing; jobs run one at a time).
    private static DocumentBuilderFactory factory;

    private static Document parseBytes(byte[] bytes) throws Exception {
        if (factory == null) {
            DocumentBuilderFactory dbf = DocumentBuilderFactory.newInstance();
            dbf.setNamespaceAware(true);
            dbf.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
            dbf.setFeature(XMLConstants.FEATURE_SECURE_PROCESSING, true);
            dbf.setExpandEntityReferences(false);
            factory = dbf;
        }
        return factory.newDocumentBuilder().parse(new ByteArrayInputStream(bytes));
    }

    private static X509Certificate certificate(String path) throws Exception {
        CertificateFactory cf = CertificateFactory.getInstance("X.509");
        return (X509Certificate) cf.generateCertificate(new ByteArrayInputStream(Files.readAllBytes(Paths.get(path))));
    }

    private static String verify(String docPath, String certPath) throws Exception {
        return verifyBytes(Files.readAllBytes(Paths.get(docPath)), certificate(certPath));
    }

    private static String benchVerify(String docPath, String certPath, double seconds) throws Exception {
        byte[] bytes = Files.readAllBytes(Paths.get(docPath));
        X509Certificate cert = certificate(certPath);
        String first = verifyBytes(bytes, cert);
        if (!"OK".equals(first)) {
            return first;
        }
        long warmEnd = System.nanoTime() + (long) (seconds * 1e9);
        while (System.nanoTime() < warmEnd) {
            verifyBytes(bytes, cert);
        }
        java.util.ArrayList<Long> samples = new java.util.ArrayList<>();
        long end = System.nanoTime() + (long) (seconds * 1e9);
        while (System.nanoTime() < end || samples.size() < 5) {
            long t = System.nanoTime();
            String r = verifyBytes(bytes, cert);
            samples.add(System.nanoTime() - t);
            if (!"OK".equals(r)) {
                return r;
            }
        }
        java.util.Collections.sort(samples);
        int n = samples.size();
        long median = n % 2 == 1 ? samples.get(n / 2) : (samples.get(n / 2 - 1) + samples.get(n / 2)) / 2;
        return "OK " + median + " " + n;
    }

    private static String verifyBytes(byte[] bytes, X509Certificate cert) throws Exception {
        Document doc = parseBytes(bytes);
        NodeList sigs = doc.getElementsByTagNameNS(Constants.SignatureSpecNS, "Signature");
        if (sigs.getLength() != 1) {
            return "FAIL " + sigs.getLength() + " ds:Signature elements";
        }
        Element sigElement = (Element) sigs.item(0);
        // secureValidation = true: what a careful verifier turns on.
        XMLSignature sig = new XMLSignature(sigElement, "", true);
        SignedInfo si = sig.getSignedInfo();
        if (si.getLength() != 1) {
            return "FAIL " + si.getLength() + " references";
        }
        Reference ref = si.item(0);
        if (!"".equals(ref.getURI())) {
            return "FAIL reference URI " + ref.getURI();
        }
        if (!sig.checkSignatureValue(cert.getPublicKey())) {
            return "FAIL signature or digest does not verify";
        }
        return "OK";
    }

    private static void sign(String docPath, String keyPath, String certPath, String alg, String c14n, String outPath)
            throws Exception {
        Document doc = parse(docPath);
        String pem = new String(Files.readAllBytes(Paths.get(keyPath)), StandardCharsets.US_ASCII);
        String b64 = pem.replaceAll("-----[A-Z ]+-----", "").replaceAll("\\s", "");
        byte[] der = Base64.getDecoder().decode(b64);
        String keyAlg = alg.equals("rsa") ? "RSA" : "EC";
        PrivateKey key = KeyFactory.getInstance(keyAlg).generatePrivate(new PKCS8EncodedKeySpec(der));
        String sigAlg = alg.equals("rsa") ? XMLSignature.ALGO_ID_SIGNATURE_RSA_SHA256
                : XMLSignature.ALGO_ID_SIGNATURE_ECDSA_SHA256;
        String c14nAlg = c14n.equals("exclusive") ? Canonicalizer.ALGO_ID_C14N_EXCL_OMIT_COMMENTS
                : Canonicalizer.ALGO_ID_C14N_OMIT_COMMENTS;
        XMLSignature sig = new XMLSignature(doc, "", sigAlg, c14nAlg);
        doc.getDocumentElement().appendChild(sig.getElement());
        Transforms transforms = new Transforms(doc);
        transforms.addTransform(Transforms.TRANSFORM_ENVELOPED_SIGNATURE);
        transforms.addTransform(c14nAlg);
        sig.addDocument("", transforms, MessageDigestAlgorithm.ALGO_ID_DIGEST_SHA256);
        sig.addKeyInfo(certificate(certPath));
        sig.sign(key);
        Transformer t = TransformerFactory.newInstance().newTransformer();
        t.setOutputProperty(OutputKeys.ENCODING, "UTF-8");
        try (OutputStream out = new FileOutputStream(outPath)) {
            t.transform(new DOMSource(doc), new StreamResult(out));
        }
    }
}
