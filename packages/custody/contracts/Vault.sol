// SPDX-License-Identifier: MIT
// The exchange's custody vault (docs/custody.md). Compiled in process by
// packages/custody/src/compile.ts with solc-js; the artefact is checked in.
pragma solidity 0.8.37;

interface IERC20 {
    function balanceOf(address owner) external view returns (uint256);
    function transfer(address to, uint256 amount) external returns (bool);
    function transferFrom(address from, address to, uint256 amount) external returns (bool);
}

contract Vault {
    /// A root the operator committed: the attested liabilities root and what the contract derived from it.
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

    /// What a commit carries besides the committee's signatures.
    struct Commit {
        uint64 sequence;
        bytes32 stateHash;
        bytes32 assetListHash;
        uint64 depositsCredited;
        uint64 forcedExitsServed;
        /// The root's two children, each hash ‖ sums (32 + 32 × A bytes); `right` empty for a one-leaf tree.
        bytes left;
        bytes right;
        /// One price per asset in the quote unit the engine uses; all zero until margin exists.
        uint256[] prices;
        Payout[] payouts;
    }

    /// A withdrawal the committed root has already debited.
    struct Payout {
        address recipient;
        uint32 asset;
        uint256 amount;
        uint64 withdrawalId;
    }

    struct Deposit {
        bytes32 publicKey;
        address depositor;
        uint32 asset;
        bool refunded;
        uint256 amount;
    }

    struct ForcedExit {
        bytes32 publicKey;
        address requester;
        uint64 requestedAt;
    }

    /// Proof of one leaf with an exit address against the last final root.
    struct ExitProof {
        bytes32 commitment;
        address exitAddress;
        uint64 leafIndex;
        /// The leaf's sums: claim u128 ‖ debt u128 per asset.
        bytes sums;
        /// The siblings from the leaf up, each hash ‖ sums, concatenated.
        bytes path;
        uint256[] prices;
    }

    error NotOperator();
    error Frozen();
    error NotFrozen();
    error UnknownAsset(uint256 asset);
    error ZeroAmount();
    error TokenTransferFailed(uint256 asset);
    error WrongAssetList();
    error SequenceNotAfter(uint64 last, uint64 given);
    error DepositsNotCredited(uint64 given, uint64 count);
    error DepositsCreditedDecreased(uint64 last, uint64 given);
    error ForcedExitsNotFiled(uint64 given, uint64 count);
    error ForcedExitsServedDecreased(uint64 last, uint64 given);
    error BadRecordLength();
    error BadPrices();
    error SumOverflow();
    error Insolvent(uint256 asset, uint256 needed, uint256 held);
    error CommitteeThreshold(uint256 valid, uint256 needed);
    error NothingToFinalize();
    error NotYetFinal(uint64 finalAt);
    error PayoutsMismatch();
    error NoFinalRoot();
    error FreezeRefused();
    error FeeRequired(uint256 fee);
    error ProofMismatch();
    error AlreadyExited();
    /// Phase 1 of the escape (registering exit claims) ended at `endedAt`.
    error ClaimWindowClosed(uint64 endedAt);
    /// Phase 2 (paying registered claims) starts after `endsAt`, when the claim window closes.
    error ClaimWindowOpen(uint64 endsAt);
    /// No registered claim of this commitment for this exit address and these amounts.
    error ExitClaimMismatch();
    /// The leaf's debts outweigh its claims at the committed prices: its net equity is not positive.
    error NoNetEquity(uint256 claimsValue, uint256 debtsValue);
    /// The leaf owes more of `asset` than it holds, and the committed price of `asset` is zero.
    error UnpricedDebt(uint256 asset);
    error NotRefundable(uint256 depositNumber);
    error NothingOwed();

    event Deposited(uint64 indexed number, bytes32 indexed publicKey, uint32 asset, uint256 amount, address depositor);
    event RootCommitted(
        uint64 indexed commitNumber, uint64 sequence, bytes32 root, bytes32 stateHash, uint64 depositsCredited
    );
    event RootFinalized(uint64 indexed commitNumber, uint64 sequence, bytes32 root);
    event PayoutOwed(uint64 indexed withdrawalId, address indexed recipient, uint32 asset, uint256 amount);
    event ForcedExitRequested(uint64 indexed number, bytes32 indexed publicKey, address requester);
    event VaultFrozen(uint64 finalCommitNumber, bytes32 root);
    /// Phase 1: the leaf's exit claim per asset (its net equity in kind), registered for phase 2.
    event Exited(bytes32 indexed commitment, address exitAddress, uint256[] amounts);
    /// Phase 2: what the registered claim is paid per asset (in full, or pro rata), owed to the exit address.
    event ExitPaid(bytes32 indexed commitment, address exitAddress, uint256[] amounts);
    event Refunded(uint64 indexed number, address depositor, uint256 amount);
    event Withdrawn(address indexed owner, uint32 asset, uint256 amount);

    address public immutable operator;
    bytes32 public immutable assetListHash;
    uint256 public immutable finalityDelaySeconds;
    uint256 public immutable graceSeconds;
    uint256 public immutable forcedExitFee;
    uint256 public immutable committeeThreshold;
    address[] private tokenList;
    address[] private committeeList;
    mapping(address => bool) public isCommitteeMember;

    Deposit[] private depositList;
    ForcedExit[] private forcedExitList;
    Commitment[] private commitmentList;
    /// Commitments [0, finalCount) are final; later ones are pending.
    uint64 public finalCount;
    bool public frozen;

    /// Per asset: deposits no commitment has credited yet (refundable or soon credited).
    /// Once frozen: deposits the last final root did not credit and not yet refunded.
    uint256[] public uncreditedDeposits;
    /// Per asset: payouts of pending commitments, already debited in their roots.
    uint256[] public pendingPayouts;
    /// Per asset: what owners may pull with withdraw() and have not pulled yet.
    uint256[] public owedTotal;
    mapping(address => mapping(uint256 => uint256)) public owed;
    /// When the vault was frozen; phase 1 of the escape runs until frozenAt + graceSeconds.
    uint64 public frozenAt;
    /// Per leaf commitment: keccak256(abi.encode(exitAddress, amounts)) of its registered claim, PAID once paid.
    mapping(bytes32 => bytes32) public exitClaims;
    /// Per asset: the sum of the registered exit claims.
    uint256[] public registeredClaims;
    /// Per asset: what phase 2 pays the registered claims from, fixed by its first payment
    /// (the balance less everything owed and refundable); exitPoolFixed says whether it is fixed yet.
    uint256[] public exitPool;
    bool public exitPoolFixed;
    bytes32 private constant PAID = bytes32(uint256(1));

    constructor(
        address operatorAddress,
        address[] memory tokens,
        bytes32 assetList,
        address[] memory committee,
        uint256 threshold,
        uint256 finalityDelay,
        uint256 grace,
        uint256 fee
    ) {
        require(threshold <= committee.length && (committee.length == 0 || threshold > 0), "threshold");
        operator = operatorAddress;
        tokenList = tokens;
        assetListHash = assetList;
        committeeThreshold = threshold;
        finalityDelaySeconds = finalityDelay;
        graceSeconds = grace;
        forcedExitFee = fee;
        for (uint256 i = 0; i < committee.length; i++) {
            require(!isCommitteeMember[committee[i]] && committee[i] != address(0), "committee");
            isCommitteeMember[committee[i]] = true;
        }
        committeeList = committee;
        uncreditedDeposits = new uint256[](tokens.length);
        pendingPayouts = new uint256[](tokens.length);
        owedTotal = new uint256[](tokens.length);
        registeredClaims = new uint256[](tokens.length);
        exitPool = new uint256[](tokens.length);
    }

    // ---- Reading ----

    function tokens() external view returns (address[] memory) { return tokenList; }
    function committee() external view returns (address[] memory) { return committeeList; }
    function depositCount() external view returns (uint64) { return uint64(depositList.length); }
    function deposits(uint256 number) external view returns (Deposit memory) { return depositList[number - 1]; }
    function forcedExitCount() external view returns (uint64) { return uint64(forcedExitList.length); }
    function forcedExits(uint256 number) external view returns (ForcedExit memory) {
        return forcedExitList[number - 1];
    }
    function commitmentCount() external view returns (uint64) { return uint64(commitmentList.length); }
    function commitments(uint256 number) external view returns (Commitment memory) {
        return commitmentList[number - 1];
    }

    // ---- Deposits ----

    /// Deposits `amount` of asset `asset` for the exchange account `publicKey`; credits what really arrived.
    function deposit(uint32 asset, uint256 amount, bytes32 publicKey) external returns (uint64 number) {
        if (frozen) revert Frozen();
        if (asset >= tokenList.length) revert UnknownAsset(asset);
        if (amount == 0) revert ZeroAmount();
        IERC20 token = IERC20(tokenList[asset]);
        uint256 before = token.balanceOf(address(this));
        _callToken(asset, abi.encodeCall(IERC20.transferFrom, (msg.sender, address(this), amount)));
        uint256 received = token.balanceOf(address(this)) - before;
        if (received == 0) revert ZeroAmount();
        depositList.push(Deposit(publicKey, msg.sender, asset, false, received));
        uncreditedDeposits[asset] += received;
        number = uint64(depositList.length);
        emit Deposited(number, publicKey, asset, received, msg.sender);
    }

    // ---- Root commitments ----

    /// The digest each committee member signs (raw secp256k1 signature over it).
    function commitDigest(bytes32 root, Commit calldata c) public view returns (bytes32) {
        return keccak256(
            abi.encode(
                "vex/custody/commit/v1", block.chainid, address(this), c.sequence, root, c.stateHash,
                c.assetListHash, c.depositsCredited, c.forcedExitsServed, keccak256(abi.encode(c.prices)),
                keccak256(abi.encode(c.payouts))
            )
        );
    }

    /// Commits an attested root with its payouts; `signatures` are the committee's, in ascending signer order.
    function commitRoot(Commit calldata c, bytes[] calldata signatures) external {
        if (msg.sender != operator) revert NotOperator();
        if (frozen) revert Frozen();
        if (c.assetListHash != assetListHash) revert WrongAssetList();
        if (c.prices.length != tokenList.length) revert BadPrices();
        Commitment memory last = _lastCommitment();
        if (commitmentList.length > 0 && c.sequence <= last.sequence) {
            revert SequenceNotAfter(last.sequence, c.sequence);
        }
        (bytes32 root, uint256[] memory totals) = _rootOf(c.left, c.right);
        _checkCommittee(commitDigest(root, c), signatures);
        _creditDeposits(last.depositsCredited, c.depositsCredited);
        if (c.forcedExitsServed < last.forcedExitsServed) {
            revert ForcedExitsServedDecreased(last.forcedExitsServed, c.forcedExitsServed);
        }
        if (c.forcedExitsServed > forcedExitList.length) {
            revert ForcedExitsNotFiled(c.forcedExitsServed, uint64(forcedExitList.length));
        }
        for (uint256 i = 0; i < c.payouts.length; i++) {
            if (c.payouts[i].asset >= tokenList.length) revert UnknownAsset(c.payouts[i].asset);
            pendingPayouts[c.payouts[i].asset] += c.payouts[i].amount;
        }
        _checkSolvency(totals);
        commitmentList.push(
            Commitment(
                root, c.stateHash, keccak256(abi.encode(c.prices)), keccak256(abi.encode(c.payouts)), c.sequence,
                c.depositsCredited, c.forcedExitsServed, uint64(block.timestamp)
            )
        );
        emit RootCommitted(uint64(commitmentList.length), c.sequence, root, c.stateHash, c.depositsCredited);
    }

    /// Makes the oldest pending commitment final once its delay has passed, and owes its payouts.
    function finalize(Payout[] calldata payouts) external {
        if (frozen) revert Frozen();
        if (finalCount >= commitmentList.length) revert NothingToFinalize();
        Commitment storage pending = commitmentList[finalCount];
        uint64 finalAt = pending.committedAt + uint64(finalityDelaySeconds);
        if (block.timestamp < finalAt) revert NotYetFinal(finalAt);
        if (keccak256(abi.encode(payouts)) != pending.payoutsHash) revert PayoutsMismatch();
        for (uint256 i = 0; i < payouts.length; i++) {
            Payout calldata p = payouts[i];
            pendingPayouts[p.asset] -= p.amount;
            owed[p.recipient][p.asset] += p.amount;
            owedTotal[p.asset] += p.amount;
            emit PayoutOwed(p.withdrawalId, p.recipient, p.asset, p.amount);
        }
        finalCount += 1;
        emit RootFinalized(finalCount, pending.sequence, pending.root);
    }

    /// Pulls what the vault owes the caller in `asset` (payouts, exits, refunds).
    function withdraw(uint32 asset) external {
        uint256 amount = owed[msg.sender][asset];
        if (amount == 0) revert NothingOwed();
        owed[msg.sender][asset] = 0;
        owedTotal[asset] -= amount;
        _callToken(asset, abi.encodeCall(IERC20.transfer, (msg.sender, amount)));
        emit Withdrawn(msg.sender, asset, amount);
    }

    // ---- Forced exits and the escape hatch ----

    /// Files a forced exit for the account `publicKey`; the operator must serve it within graceSeconds.
    function requestForcedExit(bytes32 publicKey) external payable returns (uint64 number) {
        if (frozen) revert Frozen();
        if (msg.value != forcedExitFee) revert FeeRequired(forcedExitFee);
        forcedExitList.push(ForcedExit(publicKey, msg.sender, uint64(block.timestamp)));
        number = uint64(forcedExitList.length);
        emit ForcedExitRequested(number, publicKey, msg.sender);
    }

    /// Freezes the vault when the oldest forced exit no final root served is older than the grace period.
    function freeze() external {
        if (frozen) revert Frozen();
        uint64 served = finalCount == 0 ? 0 : commitmentList[finalCount - 1].forcedExitsServed;
        if (served >= forcedExitList.length) revert FreezeRefused();
        if (block.timestamp <= forcedExitList[served].requestedAt + graceSeconds) revert FreezeRefused();
        frozen = true;
        frozenAt = uint64(block.timestamp);
        // Pending commitments are void: their payouts are still in the last final root's leaves, and the deposits
        // they credited are refundable again (bounded: the deposits credited within the finality delay).
        for (uint256 i = 0; i < pendingPayouts.length; i++) pendingPayouts[i] = 0;
        uint64 credited = finalCount == 0 ? 0 : commitmentList[finalCount - 1].depositsCredited;
        uint64 lastCredited = _lastCommitment().depositsCredited;
        for (uint64 n = credited; n < lastCredited; n++) {
            uncreditedDeposits[depositList[n].asset] += depositList[n].amount;
        }
        bytes32 root = finalCount == 0 ? bytes32(0) : commitmentList[finalCount - 1].root;
        emit VaultFrozen(finalCount, root);
    }

    /// Phase 1 of the escape (from the freeze until frozenAt + graceSeconds): proves a leaf against the last final
    /// root and registers its exit claim, the leaf's net equity in kind at the committed prices (_exitAmounts).
    function exit(ExitProof calldata proof) external {
        if (!frozen) revert NotFrozen();
        if (finalCount == 0) revert NoFinalRoot();
        uint64 windowEnd = frozenAt + uint64(graceSeconds);
        if (block.timestamp > windowEnd) revert ClaimWindowClosed(windowEnd);
        Commitment storage last = commitmentList[finalCount - 1];
        if (exitClaims[proof.commitment] != bytes32(0)) revert AlreadyExited();
        if (keccak256(abi.encode(proof.prices)) != last.pricesHash) revert BadPrices();
        if (_proofRoot(proof) != last.root) revert ProofMismatch();
        uint256[] memory amounts = _exitAmounts(proof.sums, proof.prices);
        for (uint256 i = 0; i < amounts.length; i++) registeredClaims[i] += amounts[i];
        exitClaims[proof.commitment] = keccak256(abi.encode(proof.exitAddress, amounts));
        emit Exited(proof.commitment, proof.exitAddress, amounts);
    }

    /// Phase 2 (after the claim window): owes a registered claim's exit address each asset in full when that
    /// asset's registered claims fit its exit pool, else amount × pool / registered, rounded down. Once per leaf.
    function payExit(bytes32 commitment, address exitAddress, uint256[] calldata amounts) external {
        _requireClaimWindowClosed();
        bytes32 claim = exitClaims[commitment];
        if (claim == PAID) revert AlreadyExited();
        if (claim == bytes32(0) || claim != keccak256(abi.encode(exitAddress, amounts))) revert ExitClaimMismatch();
        exitClaims[commitment] = PAID;
        if (!exitPoolFixed) _fixExitPool();
        uint256[] memory paid = new uint256[](amounts.length);
        for (uint256 i = 0; i < amounts.length; i++) {
            if (amounts[i] == 0) continue;
            uint256 registered = registeredClaims[i];
            uint256 pool = exitPool[i];
            paid[i] = registered <= pool ? amounts[i] : (amounts[i] * pool) / registered;
            owed[exitAddress][i] += paid[i];
            owedTotal[i] += paid[i];
        }
        emit ExitPaid(commitment, exitAddress, paid);
    }

    /// Once frozen: owes a deposit that no final root credited back to its depositor.
    function refund(uint64 number) external {
        if (!frozen) revert NotFrozen();
        uint64 credited = finalCount == 0 ? 0 : commitmentList[finalCount - 1].depositsCredited;
        if (number <= credited || number > depositList.length) revert NotRefundable(number);
        Deposit storage d = depositList[number - 1];
        if (d.refunded) revert NotRefundable(number);
        d.refunded = true;
        uncreditedDeposits[d.asset] -= d.amount;
        owedTotal[d.asset] += d.amount;
        owed[d.depositor][d.asset] += d.amount;
        emit Refunded(number, d.depositor, d.amount);
    }

    // ---- Internals ----

    function _lastCommitment() private view returns (Commitment memory c) {
        if (commitmentList.length > 0) c = commitmentList[commitmentList.length - 1];
    }

    function _callToken(uint256 asset, bytes memory data) private {
        (bool ok, bytes memory result) = tokenList[asset].call(data);
        if (!ok || (result.length != 0 && !abi.decode(result, (bool)))) revert TokenTransferFailed(asset);
    }

    /// Credits deposits (last, given]: they leave the uncredited totals.
    function _creditDeposits(uint64 last, uint64 given) private {
        if (given < last) revert DepositsCreditedDecreased(last, given);
        if (given > depositList.length) revert DepositsNotCredited(given, uint64(depositList.length));
        for (uint64 n = last; n < given; n++) {
            Deposit storage d = depositList[n];
            uncreditedDeposits[d.asset] -= d.amount;
        }
    }

    /// root = SHA-256(0x01 ‖ left ‖ right), totals = sums(left) + sums(right); a one-leaf tree's root is the leaf.
    function _rootOf(bytes calldata left, bytes calldata right) private view returns (bytes32, uint256[] memory) {
        uint256 recordLength = 32 + 32 * tokenList.length;
        if (left.length != recordLength) revert BadRecordLength();
        uint256[] memory totals = new uint256[](2 * tokenList.length);
        _addSums(totals, left[32:]);
        if (right.length == 0) return (bytes32(left[:32]), totals);
        if (right.length != recordLength) revert BadRecordLength();
        _addSums(totals, right[32:]);
        return (sha256(abi.encodePacked(bytes1(0x01), left, right)), totals);
    }

    /// sums[2i] += claim_i, sums[2i + 1] += debt_i, each a u128, refusing a total that reaches 2^128.
    function _addSums(uint256[] memory sums, bytes calldata encoded) private pure {
        for (uint256 i = 0; i < sums.length; i++) {
            sums[i] += uint256(uint128(bytes16(encoded[16 * i:16 * i + 16])));
            if (sums[i] >> 128 != 0) revert SumOverflow();
        }
    }

    /// Claims less debts, plus everything else the vault owes or holds for others, must fit in each token balance.
    function _checkSolvency(uint256[] memory totals) private view {
        for (uint256 i = 0; i < tokenList.length; i++) {
            uint256 claims = totals[2 * i];
            uint256 debts = totals[2 * i + 1];
            uint256 net = claims > debts ? claims - debts : 0;
            uint256 needed = net + uncreditedDeposits[i] + pendingPayouts[i] + owedTotal[i];
            uint256 held = IERC20(tokenList[i]).balanceOf(address(this));
            if (needed > held) revert Insolvent(i, needed, held);
        }
    }

    function _checkCommittee(bytes32 digest, bytes[] calldata signatures) private view {
        uint256 valid = 0;
        address previous = address(0);
        for (uint256 i = 0; i < signatures.length; i++) {
            address signer = _recover(digest, signatures[i]);
            // Ascending order makes every counted signer distinct.
            if (signer <= previous || !isCommitteeMember[signer]) continue;
            previous = signer;
            valid += 1;
        }
        if (valid < committeeThreshold) revert CommitteeThreshold(valid, committeeThreshold);
    }

    function _recover(bytes32 digest, bytes calldata signature) private pure returns (address) {
        if (signature.length != 65) return address(0);
        bytes32 r = bytes32(signature[0:32]);
        bytes32 s = bytes32(signature[32:64]);
        uint8 v = uint8(signature[64]);
        if (v < 27) v += 27;
        // The lower half of s only, so a signature cannot be reshaped into a second valid one.
        if (uint256(s) > 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0) return address(0);
        return ecrecover(digest, v, r, s);
    }

    /// The root a leaf with an exit address proves: leaf = SHA-256(0x02 ‖ commitment ‖ exitAddress ‖ sums).
    function _proofRoot(ExitProof calldata proof) private view returns (bytes32 hash) {
        uint256 sumsLength = 32 * tokenList.length;
        uint256 recordLength = 32 + sumsLength;
        if (proof.sums.length != sumsLength || proof.path.length % recordLength != 0) revert BadRecordLength();
        uint256 depth = proof.path.length / recordLength;
        if (depth < 64 && proof.leafIndex >> depth != 0) revert ProofMismatch();
        hash = sha256(abi.encodePacked(bytes1(0x02), proof.commitment, proof.exitAddress, proof.sums));
        // One buffer, 0x01 ‖ left ‖ right, refilled per level: no allocation inside the loop.
        bytes memory input = new bytes(1 + 2 * recordLength);
        input[0] = 0x01;
        bytes memory sums = proof.sums;
        uint256 index = proof.leafIndex;
        uint256 pathOffset = _pathStart(proof);
        bool overflow = false;
        for (uint256 level = 0; level < depth; level++) {
            uint256 sibling = pathOffset + level * recordLength;
            assembly {
                let base := add(input, 33)
                let runningSlot := base
                let siblingSlot := add(base, recordLength)
                if and(index, 1) {
                    runningSlot := siblingSlot
                    siblingSlot := base
                }
                mstore(runningSlot, hash)
                mcopy(add(runningSlot, 32), add(sums, 32), sumsLength)
                calldatacopy(siblingSlot, sibling, recordLength)
                // Running sums += the sibling's, u128 by u128; the low half of each word is kept as it was.
                for { let offset := 0 } lt(offset, sumsLength) { offset := add(offset, 16) } {
                    let place := add(add(sums, 32), offset)
                    let total := add(shr(128, mload(place)), shr(128, calldataload(add(sibling, add(32, offset)))))
                    if shr(128, total) { overflow := 1 }
                    mstore(place, or(shl(128, total), and(mload(place), 0xffffffffffffffffffffffffffffffff)))
                }
            }
            hash = sha256(input);
            index >>= 1;
        }
        if (overflow) revert SumOverflow();
    }

    /// Where proof.path's bytes start in calldata.
    function _pathStart(ExitProof calldata proof) private pure returns (uint256 offset) {
        bytes calldata path = proof.path;
        assembly {
            offset := path.offset
        }
    }

    /// Fixes the exit pool (anyone, once phase 1 is over; the first payExit does it otherwise).
    function fixExitPool() external {
        _requireClaimWindowClosed();
        if (exitPoolFixed) revert AlreadyExited();
        _fixExitPool();
    }

    function _requireClaimWindowClosed() private view {
        if (!frozen) revert NotFrozen();
        uint64 windowEnd = frozenAt + uint64(graceSeconds);
        if (block.timestamp <= windowEnd) revert ClaimWindowOpen(windowEnd);
    }

    /// Per asset, what phase 2 pays exits from: the token balance less what the vault owes (payouts of final roots,
    /// refunds, exits already paid: none yet) and the deposits still refundable. Fixed once, when phase 1 is over.
    function _fixExitPool() private {
        exitPoolFixed = true;
        for (uint256 i = 0; i < tokenList.length; i++) {
            uint256 held = IERC20(tokenList[i]).balanceOf(address(this));
            uint256 reserved = owedTotal[i] + uncreditedDeposits[i];
            exitPool[i] = held > reserved ? held - reserved : 0;
        }
    }

    /// A leaf's exit claim per asset, its net equity in kind. net_i = claim_i − debt_i. A leaf with no negative
    /// net_i claims net_i of each asset (no prices needed). Otherwise, at the committed prices p_i (the value of
    /// one unit of asset i, one scale for all assets), surplus S = Σ_{net_i > 0} net_i·p_i and deficit
    /// D = Σ_{net_i < 0} −net_i·p_i; the leaf claims ⌊net_i · (S − D) / S⌋ of each surplus asset (rounded down,
    /// so the value claimed is at most S − D) and nothing of its deficit assets; S ≤ D is refused (NoNetEquity), as
    /// is a deficit in an asset whose price is zero (UnpricedDebt: it could not be valued).
    function _exitAmounts(bytes calldata sums, uint256[] calldata prices)
        private
        pure
        returns (uint256[] memory amounts)
    {
        amounts = new uint256[](prices.length);
        uint256 surplus = 0;
        uint256 deficit = 0;
        for (uint256 i = 0; i < prices.length; i++) {
            uint256 claim = uint256(uint128(bytes16(sums[32 * i:32 * i + 16])));
            uint256 debt = uint256(uint128(bytes16(sums[32 * i + 16:32 * i + 32])));
            if (claim >= debt) {
                amounts[i] = claim - debt;
                surplus += amounts[i] * prices[i];
            } else {
                if (prices[i] == 0) revert UnpricedDebt(i);
                deficit += (debt - claim) * prices[i];
            }
        }
        if (deficit == 0) return amounts;
        if (surplus <= deficit) revert NoNetEquity(surplus, deficit);
        for (uint256 i = 0; i < amounts.length; i++) amounts[i] = (amounts[i] * (surplus - deficit)) / surplus;
    }
}
