/// The fake keys the tests plant (in files, repositories, history, the environment) and look for, one table for
/// every suite. Each is assembled at run time, so no source file holds a key a scanner would flag.
public enum Planted {
    public static let github = "ghp" + "_aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW11ySowm"
    public static let githubFineGrained =
        "github" + "_pat_11ABCDEFG0aB3dE5fG7hJ9_kL1mN3pQ5rS7tU9vW1xY3zA5bC7dE9fG1hJ3kL5mN7pQ9rS1tU3vW5xY7zA9bC1dE3fG5"
    /// A second GitHub token, planted outside the repository under scan.
    public static let githubOutside = "ghp" + "_Qw8Er7Ty6Ui5Op4As3Df2Gh1Jk9Lz82Qvbwp"
    public static let aws = "AKIA" + "Q3RZ7T2VX9LMNB4K"
    public static let aws2 = "ASIA" + "M4K8P2XW7RZ3QV9T"
    public static let slack = "xoxb" + "-2049811744-9182736450-Zq8Wc3Lm5Nv7Bx1Ty9Ua"
    public static let stripe = "sk" + "_live_4eC39HqLyjWDarjtT1zdp7dc9Kq2"
    public static let reflex = "rfx" + "_Z8kq2LmN4pR7sT1vW3xY5bC6"
    public static let reflex2 = "rfx" + "_Q4wE6rT8yU1iO3pA5sD7fG9"
    /// A Reflex key planted outside the repository under scan.
    public static let reflexOutside = "rfx" + "_Mn3Bv5Cx7Zl9Kj2Hg4Fd6Sa8"
    /// A Reflex key planted in history a repository tries to hide.
    public static let reflexHidden = "rfx" + "_Hd7Qm2Vx9Lp4Tz8Rk3Nw6Yb1"
    public static let reactor = "rp" + "_9XkQ2mLp7RtV4nWz8YbC3dF6"
    public static let reminix = "reminix" + "_pat_Qm7Xk2Lp9RtV4nWz8YbC3dF6"
    public static let flux = "flux" + "_prod_Hq4Zr8Kt2Mv6Px9Lb3Nc7Wd1"
    public static let privateKeyBody =
        "MIIEowIBAAKCAQEAv8Zq3XlN0bH2kP7rT5wY9cL4mQ1sF6jD8gA2eR7uI3oK5nV0\nzB9xW4pE6yH1tM8qC3fJ7aL2sG5dN0kR9vU4bX6iO1cT8lP3eZ7mF2wY5hA9jQ0g\n"
    public static let privateKey =
        "-----BEGIN " + "RSA PRIVATE KEY-----\n" + privateKeyBody + "-----END RSA PRIVATE KEY-----\n"

    /// Every planted key (the private key's body stands for it): none may appear in clear in any output that masks.
    public static let all = [
        github, githubFineGrained, githubOutside, aws, aws2, slack, stripe, reflex, reflex2, reflexOutside,
        reflexHidden, reactor, reminix, flux, privateKeyBody,
    ]
}
