// An edXML signer and validator written on the JDK's own XML-DSig API
// (javax.xml.crypto.dsig), the way a Java document system signs: written for the
// edoc-axis interoperability tests, compiled by them with javac into a temporary
// directory. Nothing here comes from edoc-axis: it is the independent party.
//
//   java EdxmlDsig sign <key.pem> <cert.pem> <out-dir> <form>=<package.xml>...
//       signs each package in its form, as <out-dir>/<form>.xml; the Signature
//       is appended as the last child of edXMLHeader. Forms:
//         enveloped              enveloped-signature only, SignedInfo C14N 1.0
//         enveloped-c14n         enveloped-signature, C14N 1.0
//         enveloped-c14n11       enveloped-signature, C14N 1.1 (SignedInfo too)
//         enveloped-exc          enveloped-signature, exclusive C14N (SignedInfo too)
//         enveloped-exc-prefixes the same with InclusiveNamespaces PrefixList="edXML"
//         enveloped-c14n-comments  C14N 1.0 with comments (must be refused by the axis)
//         enveloped-xpath        an XPath filter before C14N (must be refused by the axis)
//   java EdxmlDsig verify <cert.pem> <file.xml>...
//       validates the one Signature of each file with the public key of <cert.pem>
//       (pinned: KeyInfo is not trusted), secure validation on; prints
//       "<file> valid" or "<file> INVALID <reason>"; exit 1 when any is invalid.

import java.io.File;
import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.security.Key;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.List;

import javax.xml.crypto.AlgorithmMethod;
import javax.xml.crypto.KeySelector;
import javax.xml.crypto.KeySelectorResult;
import javax.xml.crypto.XMLCryptoContext;
import javax.xml.crypto.dsig.CanonicalizationMethod;
import javax.xml.crypto.dsig.DigestMethod;
import javax.xml.crypto.dsig.Reference;
import javax.xml.crypto.dsig.SignedInfo;
import javax.xml.crypto.dsig.Transform;
import javax.xml.crypto.dsig.XMLSignature;
import javax.xml.crypto.dsig.XMLSignatureFactory;
import javax.xml.crypto.dsig.dom.DOMSignContext;
import javax.xml.crypto.dsig.dom.DOMValidateContext;
import javax.xml.crypto.dsig.keyinfo.KeyInfo;
import javax.xml.crypto.dsig.keyinfo.KeyInfoFactory;
import javax.xml.crypto.dsig.keyinfo.X509Data;
import javax.xml.crypto.dsig.spec.C14NMethodParameterSpec;
import javax.xml.crypto.dsig.spec.ExcC14NParameterSpec;
import javax.xml.crypto.dsig.spec.TransformParameterSpec;
import javax.xml.crypto.dsig.spec.XPathFilterParameterSpec;
import javax.xml.parsers.DocumentBuilderFactory;
import javax.xml.transform.TransformerFactory;
import javax.xml.transform.dom.DOMSource;
import javax.xml.transform.stream.StreamResult;

import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;

public final class EdxmlDsig {
    static final String EDXML = "http://www.mic.gov.vn/TBT/QCVN_102_2016";
    static final String C14N11 = "http://www.w3.org/2006/12/xml-c14n11";
    static final String RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";
    static final String ECDSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256";

    public static void main(String[] args) throws Exception {
        if (args.length >= 4 && args[0].equals("sign")) {
            sign(args);
        } else if (args.length >= 3 && args[0].equals("verify")) {
            System.exit(verify(args));
        } else {
            System.err.println("usage: EdxmlDsig sign <key.pem> <cert.pem> <out-dir> <form>=<in>...");
            System.err.println("       EdxmlDsig verify <cert.pem> <file>...");
            System.exit(2);
        }
    }

    static Document parse(File file) throws Exception {
        DocumentBuilderFactory factory = DocumentBuilderFactory.newInstance();
        factory.setNamespaceAware(true);
        factory.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
        return factory.newDocumentBuilder().parse(file);
    }

    static byte[] pem(File file) throws Exception {
        String text = new String(Files.readAllBytes(file.toPath()), StandardCharsets.US_ASCII);
        StringBuilder body = new StringBuilder();
        for (String line : text.split("\n")) {
            if (!line.startsWith("-----")) {
                body.append(line.trim());
            }
        }
        return Base64.getDecoder().decode(body.toString());
    }

    static X509Certificate certificate(File file) throws Exception {
        try (FileInputStream in = new FileInputStream(file)) {
            return (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in);
        }
    }

    static void sign(String[] args) throws Exception {
        X509Certificate cert = certificate(new File(args[2]));
        String keyType = cert.getPublicKey().getAlgorithm(); // "RSA" or "EC"
        PrivateKey key = KeyFactory.getInstance(keyType)
                .generatePrivate(new PKCS8EncodedKeySpec(pem(new File(args[1]))));
        String method = keyType.equals("RSA") ? RSA_SHA256 : ECDSA_SHA256;
        XMLSignatureFactory factory = XMLSignatureFactory.getInstance("DOM");
        for (int i = 4; i < args.length; i++) {
            String form = args[i].substring(0, args[i].indexOf('='));
            Document document = parse(new File(args[i].substring(args[i].indexOf('=') + 1)));
            NodeList headers = document.getElementsByTagNameNS(EDXML, "edXMLHeader");
            Element header = (Element) headers.item(0);
            List<Transform> transforms = new ArrayList<>();
            transforms.add(factory.newTransform(Transform.ENVELOPED, (TransformParameterSpec) null));
            String c14n = CanonicalizationMethod.INCLUSIVE;
            C14NMethodParameterSpec c14nSpec = null;
            switch (form) {
                case "enveloped":
                    break;
                case "enveloped-c14n":
                    transforms.add(factory.newTransform(CanonicalizationMethod.INCLUSIVE,
                            (TransformParameterSpec) null));
                    break;
                case "enveloped-c14n11":
                    transforms.add(factory.newTransform(C14N11, (TransformParameterSpec) null));
                    c14n = C14N11;
                    break;
                case "enveloped-exc":
                    transforms.add(factory.newTransform(CanonicalizationMethod.EXCLUSIVE,
                            (TransformParameterSpec) null));
                    c14n = CanonicalizationMethod.EXCLUSIVE;
                    break;
                case "enveloped-exc-prefixes": {
                    List<String> prefixes = List.of("edXML");
                    transforms.add(factory.newTransform(CanonicalizationMethod.EXCLUSIVE,
                            new ExcC14NParameterSpec(prefixes)));
                    c14n = CanonicalizationMethod.EXCLUSIVE;
                    c14nSpec = new ExcC14NParameterSpec(prefixes);
                    break;
                }
                case "enveloped-c14n-comments":
                    transforms.add(factory.newTransform(CanonicalizationMethod.INCLUSIVE_WITH_COMMENTS,
                            (TransformParameterSpec) null));
                    break;
                case "enveloped-xpath":
                    transforms.add(factory.newTransform(Transform.XPATH,
                            new XPathFilterParameterSpec("not(ancestor-or-self::*[local-name()='Subject'])")));
                    transforms.add(factory.newTransform(CanonicalizationMethod.INCLUSIVE,
                            (TransformParameterSpec) null));
                    break;
                default:
                    throw new IllegalArgumentException("unknown form " + form);
            }
            Reference reference = factory.newReference("",
                    factory.newDigestMethod(DigestMethod.SHA256, null), transforms, null, null);
            SignedInfo signedInfo = factory.newSignedInfo(
                    factory.newCanonicalizationMethod(c14n, c14nSpec),
                    factory.newSignatureMethod(method, null),
                    Collections.singletonList(reference));
            KeyInfoFactory keyInfos = factory.getKeyInfoFactory();
            X509Data data = keyInfos.newX509Data(Collections.singletonList(cert));
            KeyInfo keyInfo = keyInfos.newKeyInfo(Collections.singletonList(data));
            DOMSignContext context = new DOMSignContext(key, header);
            context.setDefaultNamespacePrefix("ds");
            factory.newXMLSignature(signedInfo, keyInfo).sign(context);
            try (FileOutputStream out = new FileOutputStream(new File(args[3], form + ".xml"))) {
                TransformerFactory.newInstance().newTransformer()
                        .transform(new DOMSource(document), new StreamResult(out));
            }
        }
    }

    static int verify(String[] args) throws Exception {
        final X509Certificate pinned = certificate(new File(args[1]));
        KeySelector selector = new KeySelector() {
            @Override
            public KeySelectorResult select(KeyInfo keyInfo, Purpose purpose, AlgorithmMethod method,
                    XMLCryptoContext context) {
                return new KeySelectorResult() {
                    @Override
                    public Key getKey() {
                        return pinned.getPublicKey();
                    }
                };
            }
        };
        XMLSignatureFactory factory = XMLSignatureFactory.getInstance("DOM");
        int failures = 0;
        for (int i = 2; i < args.length; i++) {
            String reason;
            try {
                Document document = parse(new File(args[i]));
                NodeList found = document.getElementsByTagNameNS(XMLSignature.XMLNS, "Signature");
                if (found.getLength() != 1) {
                    reason = found.getLength() + " Signature elements";
                } else {
                    DOMValidateContext context = new DOMValidateContext(selector, found.item(0));
                    context.setProperty("org.jcp.xml.dsig.secureValidation", Boolean.TRUE);
                    XMLSignature signature = factory.unmarshalXMLSignature(context);
                    if (signature.validate(context)) {
                        reason = null;
                    } else {
                        boolean value = signature.getSignatureValue().validate(context);
                        boolean digest = ((Reference) signature.getSignedInfo().getReferences().get(0))
                                .validate(context);
                        reason = "signature value " + value + ", reference digest " + digest;
                    }
                }
            } catch (Exception exc) {
                reason = exc.toString();
            }
            if (reason == null) {
                System.out.println(args[i] + " valid");
            } else {
                failures++;
                System.out.println(args[i] + " INVALID " + reason);
            }
        }
        return failures == 0 ? 0 : 1;
    }
}
