// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

/// A test token: anyone may mint; only what the page reads (decimals, balanceOf) matters.
contract StandInToken {
    uint8 public immutable decimals;
    mapping(address => uint256) public balanceOf;

    constructor(uint8 tokenDecimals) {
        decimals = tokenDecimals;
    }

    function mint(address to, uint256 amount) external {
        balanceOf[to] += amount;
    }
}

/// The views of packages/custody's Vault that the page reads, with the same
/// signatures, and a bare `commit` in place of the Vault's checked commitRoot.
contract StandInVault {
    struct Commitment {
        bytes32 root;
        bytes32 stateHash;
        bytes32 pricesHash;
        bytes32 payoutsHash;
        uint64 sequence;
        uint64 depositsCredited;
        uint64 forcedExitsServed;
        uint64 committedAt;
    }

    Commitment[] private commitmentList;
    address[] private committeeList;
    uint64 public finalCount;
    uint256 public committeeThreshold;

    constructor(address[] memory members, uint256 threshold) {
        committeeList = members;
        committeeThreshold = threshold;
    }

    function commit(uint64 sequence, bytes32 root) external {
        require(commitmentList.length == 0 || commitmentList[commitmentList.length - 1].sequence < sequence, "sequence");
        commitmentList.push(Commitment(root, 0, 0, 0, sequence, 0, 0, uint64(block.timestamp)));
    }

    function finalizeAll() external {
        finalCount = uint64(commitmentList.length);
    }

    function commitmentCount() external view returns (uint64) {
        return uint64(commitmentList.length);
    }

    function commitments(uint256 number) external view returns (Commitment memory) {
        return commitmentList[number - 1];
    }

    function committee() external view returns (address[] memory) {
        return committeeList;
    }
}
